set termoption noenhanced
set encoding utf8
set grid
set key outside right top
set title "Forward latency, batch 64, 2 thread(s): median of the repetitions, ours and peers"
set xlabel "model / attention variant"
set ylabel "median time per forward call (microseconds, log scale)"
set logscale y
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set datafile missing '?'
set xtics rotate by -20
$d << EOD
classify-dense/full 60335.429 479985.884
classify-dense/qkv-mask 65408.9583 1172004.59
classify-dense/step-t 16795.4486 1146919.61
classify-dense/self 12276.8146 271157.113
classify-sbt/full 22053.2816 1067988.56
classify-sbt/qkv-mask 23308.7948 1572023.22
classify-sbt/step-t 16224.7579 412438.671
classify-sbt/self 50016.3126 695436.854
EOD
set terminal pngcairo noenhanced size 960,560 font 'Sans,10'
set output 'bench/results/forward_report/plots/latency_b64_t2.png.tmp'
plot $d using 2:xtic(1) title 'sbt (forward)', $d using 3 title 'torch'
set terminal svg noenhanced size 960,560 dynamic font 'Sans,10'
set output 'bench/results/forward_report/plots/latency_b64_t2.svg.tmp'
replot
unset output
