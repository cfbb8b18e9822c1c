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
classify-dense/full 268.185875 134.507135 149.551003 155.201216 625.800142
classify-dense/qkv-mask 271.05726 144.972656 164.942264 132.835077 721.927815
classify-dense/self 174.446754 74.8407026 73.2330885 70.4666995 349.56455
classify-dense/step-t 251.789083 94.0567859 89.7705021 88.6323086 689.927489
classify-sbt/full 277.713971 101.813042 100.986423 71.6851182 447.930476
classify-sbt/qkv-mask 249.187143 107.273863 98.3239706 72.2876641 415.594574
classify-sbt/self 183.999828 55.6422002 50.6630866 28.9404651 248.682786
classify-sbt/step-t 284.085815 66.2438064 64.5406264 37.2499683 408.870614
EOD
set terminal pngcairo noenhanced size 960,560 font 'Sans,10'
set output 'bench/results/forward_report/plots/latency_b1_t1.png.tmp'
plot $d using 2:xtic(1) title 'ONNX Runtime', $d using 3 title 'sbt (sgemm)', $d using 4 title 'sbt ternary-f32', $d using 5 title 'sbt ternary-i8', $d using 6 title 'PyTorch'
set terminal svg noenhanced size 960,560 dynamic font 'Sans,10'
set output 'bench/results/forward_report/plots/latency_b1_t1.svg.tmp'
replot
unset output
