# A file cut off in the middle of its last case: the last line ends with ':'.
@problemName Truncated
@timeStamps false
@missing false
@univariate false
@dimensions 2
@equalLength true
@seriesLength 4
@classLabel true a b
@data
1.0,2.0,3.0,4.0:0.5,0.25,0.125,0.0625:a
4.0,3.0,2.0,1.0:0.0625,0.125,0.25,0.5:b
1.5,2.5,3.5,4.5:
