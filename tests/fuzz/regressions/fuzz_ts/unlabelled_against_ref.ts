#A UCI Archivdatasets/Pen@classLabel t±ue 0 1 2 3 4 5 6 7 8 9
@data
47.0,27.0,57.0,26.0,0.0,56.0,100.0
