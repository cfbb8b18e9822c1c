set termoption noenhanced
set encoding utf8
set grid
set key outside right top
set title "MACs per attention variant: exact (what runs) vs the paper convention"
set xlabel "model / attention variant"
set ylabel "multiply-accumulates per window (log scale)"
set logscale y
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set xtics rotate by -20
$d << EOD
classify-dense/full 1340293 327460
classify-dense/qkv-mask 1340293 262980
classify-dense/step-t 1236229 220148
classify-dense/self 1110149 95808
classify-sbt/full 736629 220628
classify-sbt/qkv-mask 736629 156148
classify-sbt/step-t 632565 113316
classify-sbt/self 565877 48368
EOD
set terminal pngcairo noenhanced size 960,560 font 'Sans,10'
set output 'bench/results/forward_report/plots/macs.png.tmp'
plot $d using 2:xtic(1) title 'exact', '' using 3 title 'paper convention'
set terminal svg noenhanced size 960,560 dynamic font 'Sans,10'
set output 'bench/results/forward_report/plots/macs.svg.tmp'
replot
unset output
