/* outside.h - notice edits other programs make to the studio's files.
 *
 * The Web Studio (or an editor) may rewrite STUDIO_DIR/data/config.json or
 * history.json while the folder is mounted. A thread watches data/ with inotify;
 * a complete new version (closed after writing, or renamed into place) that
 * sora2fs did not write itself replaces what the mount shows, the kernel's
 * caches of it are invalidated (through the model's change hook), and watchers
 * of the mount are told. Later writes through the mount start from it, so the
 * outside edit is kept.
 *
 *   $ jq '.host_mode="overseas"' data/config.json > t && mv t data/config.json
 *   $ cat mnt/config/host_mode
 *   overseas
 */
#ifndef SORA2FS_OUTSIDE_H
#define SORA2FS_OUTSIDE_H

/* Start watching STUDIO_DIR/data (after model_init). 0 or -errno. */
int outside_start(const char *studio_dir);
void outside_stop(void);

#endif
