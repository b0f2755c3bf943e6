/* failpoint.h - named crash points for the crash tests.
 *
 *   $ SORA2FS_FAILPOINT=video-renamed sora2fs STUDIO MNT
 *   ... the daemon _exit(99)s the first time it reaches failpoint("video-renamed").
 *
 * SORA2FS_FAILPOINT=NAME[:N] exits at the N-th hit (default 1). Unset: no cost
 * beyond one load. Names in use: sending-saved, submit-answered, video-renamed,
 * renamed:<file> (after the writer renamed data/<file> into place),
 * tmp:<file> (the writer wrote the temp file of <file>, before its rename).
 */
#ifndef SORA2FS_FAILPOINT_H
#define SORA2FS_FAILPOINT_H

void failpoint(const char *name);
/* failpoint("PREFIX" + name) without building the string when unset. */
void failpoint2(const char *prefix, const char *name);

#endif
