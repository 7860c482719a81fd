# plot.gp — chart for scripts/bench_compare.sh (gnuplot 5).
#
# gnuplot -e "thr='thr.dat'; mem='mem.dat'; out='latest.png'; subtitle='...'" plot.gp
#   thr: rows  "label" slowpoke_SET redis_SET slowpoke_GET redis_GET   (requests/s, ? = not run)
#   mem: rows  "label" slowpoke redis                                   (RSS bytes per key, ? = not run)
#   nmem: number of rows in mem
# Both files are written by bench_compare.sh from results/latest.csv; nothing is typed by hand.

if (!exists("subtitle")) subtitle = ""
if (!exists("nmem")) nmem = 2
set terminal pngcairo size 1500,620 enhanced font "DejaVu Sans,11"
set output out
set datafile missing "?"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.9 border -1
set grid ytics lc rgb "#dddddd"
set key top right
set xtics nomirror scale 0
set ytics nomirror
set border 3
set bmargin 4

kfmt(v) = (v >= 10000) ? sprintf("%.0fk", v / 1000.0) : (v >= 1000) ? sprintf("%.1fk", v / 1000.0) : sprintf("%.0f", v)
bfmt(v) = (v >= 100) ? sprintf("%.0f B", v) : sprintf("%.1f B", v)
# centre of bar j (0-based) of N in cluster i, gap 1 (gnuplot's clustered layout)
xc(i, j, n) = i + (j - (n - 1) / 2.0) / (n + 1.0)

set multiplot layout 1,2 title "Slowpoke vs Redis 7 (same machine, same run)\n{/*0.8 ".subtitle."}"

set title "Requests/s by value size — SET and GET, 50 clients, -P 1, appendfsync everysec"
set ylabel "requests per second (median of rounds)"
set xrange [-0.6:2.6]
set yrange [0:*]
set offsets 0, 0, graph 0.08, 0
plot thr using 2:xtic(1) title "Slowpoke SET" lc rgb "#1f5fa8", \
     ''  using 3 title "Redis SET" lc rgb "#c0392b", \
     ''  using 4 title "Slowpoke GET" lc rgb "#7fb3e6", \
     ''  using 5 title "Redis GET" lc rgb "#f1948a", \
     ''  using (xc($0, 0, 4)):2:(kfmt($2)) with labels offset 0,0.7 font ",9" notitle, \
     ''  using (xc($0, 1, 4)):3:(kfmt($3)) with labels offset 0,0.7 font ",9" notitle, \
     ''  using (xc($0, 2, 4)):4:(kfmt($4)) with labels offset 0,0.7 font ",9" notitle, \
     ''  using (xc($0, 3, 4)):5:(kfmt($5)) with labels offset 0,0.7 font ",9" notitle

set title "Resident memory per key (VmRSS growth / keys loaded) — log scale"
set ylabel "bytes of RSS per key"
set logscale y
set xrange [-0.6:nmem - 0.4]
set yrange [1:*]
set offsets 0, 0, 0, 0
plot mem using 2:xtic(1) title "Slowpoke" lc rgb "#1f5fa8", \
     ''  using 3 title "Redis" lc rgb "#c0392b", \
     ''  using (xc($0, 0, 2)):2:(bfmt($2)) with labels offset 0,0.8 font ",10" notitle, \
     ''  using (xc($0, 1, 2)):3:(bfmt($3)) with labels offset 0,0.8 font ",10" notitle

unset multiplot
