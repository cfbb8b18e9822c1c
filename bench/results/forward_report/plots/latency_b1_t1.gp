set termoption noenhanced
set encoding utf8
set grid
set key outside right top
set title "Forward latency, batch 1, 1 thread(s): median of the repetitions, ours and peers"
set xlabel "model / attention variant"
set ylabel "median time per forward call (microseconds, log scale)"
set logscale y
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set datafile missing '?'
set xtics rotate by -20
$d << EOD
classify-dense/full 410.184288 491.631597 441.747505 1000.7227
classify-dense/qkv-mask 373.222455 276.342064 263.887188 1005.97439
classify-dense/step-t 278.787133 317.680713 327.286582 970.545124
classify-dense/self 266.468896 234.316273 293.256839 617.124623
classify-sbt/full 407.196881 204.428924 142.876045 947.799728
classify-sbt/qkv-mask 349.755211 179.375702 186.683121 929.864217
classify-sbt/step-t 285.643907 115.844765 66.6027292 989.508196
classify-sbt/self 294.763971 109.103686 60.9474703 595.050812
EOD
set terminal pngcairo noenhanced size 960,560 font 'Sans,10'
set output 'bench/results/forward_report/plots/latency_b1_t1.png.tmp'
plot $d using 2:xtic(1) title 'sbt (sgemm)', $d using 3 title 'sbt ternary-f32', $d using 4 title 'sbt ternary-i8', $d using 5 title 'torch'
set terminal svg noenhanced size 960,560 dynamic font 'Sans,10'
set output 'bench/results/forward_report/plots/latency_b1_t1.svg.tmp'
replot
unset output
