# A good training file with classes 1 2 3; see unknown_label_TEST.ts.
@problemName UnknownLabel
@timeStamps false
@missing false
@univariate false
@dimensions 2
@equalLength true
@seriesLength 4
@classLabel true 1 2 3
@data
1,2,3,4:4,3,2,1:1
2,3,4,5:5,4,3,2:1
4,3,2,1:1,2,3,4:2
5,4,3,2:2,3,4,5:2
1,3,1,3:3,1,3,1:3
2,4,2,4:4,2,4,2:3
