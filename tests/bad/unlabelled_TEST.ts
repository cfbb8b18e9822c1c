@problemName unlabelled
@timeStamps false
@missing false
@univariate false
@dimensions 2
@equalLength true
@seriesLength 4
@classLabel false
@data
1,2,3,4:5,6,7,8
2,3,4,5:6,7,8,9
