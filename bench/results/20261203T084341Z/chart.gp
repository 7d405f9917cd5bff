set terminal pngcairo size 1400,900 font 'sans,10'
set output '/tmp/bench-final/20261203T084341Z/chart.png'
set multiplot layout 2,1 title 'bench/run 20261203T084341Z: hoist and peers on emulated networks (median of runs)'
set style data histograms; set style histogram clustered gap 1; set style fill solid 0.8 border -1
set key outside right top; set grid ytics; set xtics rotate by -30 noenhanced; set key noenhanced
set logscale y; set ylabel 'MB/s (log)'
plot '/tmp/bench-final/20261203T084341Z/chart.dat' using 2:xtic(1) title 'hoist', '/tmp/bench-final/20261203T084341Z/chart.dat' using 4:xtic(1) title 'hoist-baseline', '/tmp/bench-final/20261203T084341Z/chart.dat' using 6 title 'ideal'
unset logscale y; set ylabel '% of ideal time'; set yrange [0:*]
plot '/tmp/bench-final/20261203T084341Z/chart.dat' using 3:xtic(1) title 'hoist', '/tmp/bench-final/20261203T084341Z/chart.dat' using 5:xtic(1) title 'hoist-baseline'
unset multiplot
