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
classify-dense/full 614.668728 143.488464 133.320777 151.073955 640.448166
classify-dense/qkv-mask 666.513985 152.231898 164.006105 138.439215 616.751323
classify-dense/self 380.789424 73.0538728 72.7693824 73.459983 340.072501
classify-dense/step-t 647.025855 89.58481 90.620746 89.5949853 612.162255
classify-sbt/full 591.26382 102.298371 95.3911582 69.1492116 580.66707
classify-sbt/qkv-mask 758.912067 103.380078 95.8800758 70.4003375 722.519581
classify-sbt/self 324.110422 59.0856501 54.5022227 28.9626962 342.104774
classify-sbt/step-t 529.49503 68.8635805 62.1821851 37.5035719 641.728838
EOD
set terminal pngcairo noenhanced size 960,560 font 'Sans,10'
set output 'bench/results/forward_report/plots/latency_b1_t2.png.tmp'
plot $d using 2:xtic(1) title 'ONNX Runtime', $d using 3 title 'sbt (sgemm)', $d using 4 title 'sbt ternary-f32', $d using 5 title 'sbt ternary-i8', $d using 6 title 'PyTorch'
set terminal svg noenhanced size 960,560 dynamic font 'Sans,10'
set output 'bench/results/forward_report/plots/latency_b1_t2.svg.tmp'
replot
unset output
