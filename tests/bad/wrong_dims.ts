# The third case has 2 dimensions where @dimensions says 3.
@problemName WrongDims
@timeStamps false
@missing false
@univariate false
@dimensions 3
@equalLength true
@seriesLength 3
@classLabel true a b
@data
1,2,3:4,5,6:7,8,9:a
9,8,7:6,5,4:3,2,1:b
1,2,3:4,5,6:a
9,8,7:6,5,4:3,2,1:b
