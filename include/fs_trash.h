/* fs_trash.h - .Trash-UID/ at the mount's top: the trash of videos/ (fs_trash.c). */
#ifndef SORA2FS_FS_TRASH_H
#define SORA2FS_FS_TRASH_H

#include <stdbool.h>

#include "fs.h"

extern const struct fs_subtree fs_trash_tree;
/* ".Trash-UID" of the mounting user. */
const char *fs_trash_name(void);
/* Anything in the trash? (the root lists .Trash-UID only then) */
bool fs_trash_nonempty(void);
/* rename videos/VIDEO -> .Trash-UID/TO ("files/NAME"): the video and its
 * history entry go to the trash. 0 or -errno. */
int fs_trash_put(const char *video, const char *to);
/* rename .Trash-UID/FROM ("files/NAME") -> videos/VIDEO: back, with the entry. */
int fs_trash_restore(const char *from, const char *video);

#endif
