set termoption noenhanced
set encoding utf8
set grid
set key outside right top
set title "Forward latency, batch 64, 1 thread(s): median of the repetitions, ours and peers"
set xlabel "model / attention variant"
set ylabel "median time per forward call (microseconds, log scale)"
set logscale y
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set datafile missing '?'
set xtics rotate by -20
$d << EOD
classify-dense/full 20812.5816 33796.3925
classify-dense/qkv-mask 22367.7886 37687.9912
classify-dense/step-t 16619.5288 38226.378
classify-dense/self 11560.3074 31181.0553
classify-sbt/full 20538.8988 33997.6557
classify-sbt/qkv-mask 17483.8687 30940.539
classify-sbt/step-t 12415.6088 33590.5757
classify-sbt/self 15132.8718 20552.3822
EOD
set terminal pngcairo noenhanced size 960,560 font 'Sans,10'
set output 'bench/results/forward_report/plots/latency_b64_t1.png.tmp'
plot $d using 2:xtic(1) title 'sbt (forward)', $d using 3 title 'torch'
set terminal svg noenhanced size 960,560 dynamic font 'Sans,10'
set output 'bench/results/forward_report/plots/latency_b64_t1.svg.tmp'
replot
unset output
