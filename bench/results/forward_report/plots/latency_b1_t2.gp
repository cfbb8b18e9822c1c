set termoption noenhanced
set encoding utf8
set grid
set key outside right top
set title "Forward latency, batch 1, 2 thread(s): median of the repetitions, ours and peers"
set xlabel "model / attention variant"
set ylabel "median time per forward call (microseconds, log scale)"
set logscale y
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set datafile missing '?'
set xtics rotate by -20
$d << EOD
classify-dense/full 486.25308 423.606274 410.013981 1037.58351
classify-dense/qkv-mask 351.116469 275.104871 334.789422 952.422682
classify-dense/step-t 262.043709 332.962976 343.595439 994.500584
classify-dense/self 239.3361 254.077998 277.167119 640.689043
classify-sbt/full 416.64922 192.600012 146.55136 942.593712
classify-sbt/qkv-mask 359.07482 221.1925 175.799072 1004.98168
classify-sbt/step-t 290.756235 115.435661 68.4477063 999.778914
classify-sbt/self 293.886339 95.8059848 58.9924671 634.232416
EOD
set terminal pngcairo noenhanced size 960,560 font 'Sans,10'
set output 'bench/results/forward_report/plots/latency_b1_t2.png.tmp'
plot $d using 2:xtic(1) title 'sbt (sgemm)', $d using 3 title 'sbt ternary-f32', $d using 4 title 'sbt ternary-i8', $d using 5 title 'torch'
set terminal svg noenhanced size 960,560 dynamic font 'Sans,10'
set output 'bench/results/forward_report/plots/latency_b1_t2.svg.tmp'
replot
unset output
