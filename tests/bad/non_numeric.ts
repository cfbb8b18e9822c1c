# Column 3 of dimension 2 of the case on line 12 is not a number.
@problemName NonNumeric
@timeStamps false
@missing false
@univariate false
@dimensions 2
@equalLength true
@seriesLength 4
@classLabel true a b
@data
1,2,3,4:5,6,7,8:a
8,7,6,5:4,3,abc,1:b
1,2,3,4:5,6,7,8:a
