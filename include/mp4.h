/* mp4.h - is this file a complete MP4? Checked before a video is shown. */
#ifndef SORA2FS_MP4_H
#define SORA2FS_MP4_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Check the open file fd: size equals expected (when expected >= 0), the first box
 * is "ftyp" (bytes 4..7) with a sane size, and the top-level boxes chain exactly to
 * the end of file (each box header size >= 8, or 1 = 64-bit size, 0 = to end).
 * Returns 0, or -EBADMSG with *err malloc'd ("truncated: 1000 of 4096 bytes"). */
int mp4_check_fd(int fd, off_t expected, char **err);
/* Same check on a memory buffer (for tests and the simulator's own checks). */
int mp4_check_mem(const unsigned char *data, size_t len, char **err);

#endif
