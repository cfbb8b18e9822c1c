# Valid on its own (its header lists class 4), but class 4 is not among the classes of
# unknown_label_TRAIN.ts: reading it against that file fails on line 14.
@problemName UnknownLabel
@timeStamps false
@missing false
@univariate false
@dimensions 2
@equalLength true
@seriesLength 4
@classLabel true 1 2 3 4
@data
1,2,3,4:4,3,2,1:1
4,3,2,1:1,2,3,4:2
9,9,9,9:0,0,0,0:4
1,3,1,3:3,1,3,1:3
