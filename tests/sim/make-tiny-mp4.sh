#!/bin/sh
# make-tiny-mp4.sh - regenerate tiny.mp4, the video sora2-sim serves.
#
# The result is a real, playable H.264 MP4: 1 second, 64x64, 10 fps, no audio,
# with the moov box up front (faststart) and no metadata, kept well under 20 KB.
# It is committed, so this script is only needed to change it.
#
#   $ tests/sim/make-tiny-mp4.sh            # writes tests/sim/tiny.mp4
#   $ tests/sim/make-tiny-mp4.sh /tmp/x.mp4 # or anywhere else
#   $ ffprobe -hide_banner tests/sim/tiny.mp4
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-"$here/tiny.mp4"}

if ! command -v ffmpeg >/dev/null 2>&1; then
    echo "make-tiny-mp4.sh: ffmpeg is needed (apt-get install ffmpeg)" >&2
    exit 1
fi

tmp="$out.tmp.$$.mp4"
trap 'rm -f "$tmp"' EXIT INT TERM

ffmpeg -hide_banner -loglevel error -y \
    -f lavfi -i "testsrc=size=64x64:rate=10:duration=1" \
    -c:v libx264 -profile:v baseline -preset veryslow -crf 30 \
    -pix_fmt yuv420p -g 10 \
    -an -map_metadata -1 -fflags +bitexact -flags:v +bitexact \
    -movflags +faststart \
    "$tmp"

size=$(wc -c <"$tmp")
if [ "$size" -ge 20480 ]; then
    echo "make-tiny-mp4.sh: $tmp is $size bytes, expected < 20480" >&2
    exit 1
fi
mv -f "$tmp" "$out"
trap - EXIT INT TERM
echo "make-tiny-mp4.sh: wrote $out ($size bytes)"
