# Missing values are allowed and interpolated, but dimension 2 of the case on line 13
# has no value at all.
@problemName NanChannel
@timeStamps false
@missing true
@univariate false
@dimensions 2
@equalLength true
@seriesLength 4
@classLabel true a b
@data
1,?,3,4:5,6,NaN,8:a
8,7,6,5:?,?,?,?:b
1,2,3,4:5,6,7,8:a
