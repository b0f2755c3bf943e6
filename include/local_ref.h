/* local_ref.h - reference files named by a drop's url: read safely, outside the
 * model's lock.
 *
 *   jobs/cat.txt:  ---
 *                  url: /home/me/cat.png          -> "url": "data:image/png;base64,…"
 *                  ---                               request.json shows
 *                  a cat                             "<local file /home/me/cat.png, N bytes, sent as base64>"
 *
 * A reference must be a regular file (no FIFO, device, socket, directory; the last
 * component no symbolic link), outside the mount itself (MOUNTPOINT/history.json
 * would make the daemon wait on itself), at most LOCAL_REF_MAX bytes, and readable
 * by the user who dropped the file (fuse_get_context at the drop, with their
 * groups), not just by the daemon.
 */
#ifndef SORA2FS_LOCAL_REF_H
#define SORA2FS_LOCAL_REF_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "model.h"

#define LOCAL_REF_MAX (20u * 1024 * 1024)
#define LOCAL_REF_MAX_GROUPS 64

/* Who dropped the file. known = false: nobody known (the daemon's own rights). */
struct local_ref_cred {
	bool known;
	uid_t uid;
	gid_t gid;
	int ngroups;
	gid_t groups[LOCAL_REF_MAX_GROUPS];
};

/* The caller of the FUSE request being served (uid, gid, supplementary groups);
 * known = false outside a FUSE request. */
void local_ref_caller(struct local_ref_cred *c);

/* The mount itself, refused as a reference: its path and device (dev 0: unknown). */
void local_ref_set_mount(const char *mountpoint, dev_t dev);
/* The device of MOUNTPOINT as /proc/self/mountinfo lists it (never touches the
 * mount itself). 0 when not found. */
dev_t local_ref_mount_dev(const char *mountpoint);

/* Is url a local path (not an http or https address, data: or long base64)? */
bool local_ref_is_local(const char *url);

/* Read the file a local path names. path is absolute. 0 with *data and *len, or
 * -errno with *err in words ("… is a FIFO, not a regular file"). */
int local_ref_read(const char *path, const struct local_ref_cred *cred, char **data,
		   size_t *len, char **err);

/* If req's url is local: resolve it (absolute; "../videos/X"; or a file in the
 * kind's scratch folder), read it with local_ref_read and replace it in req by a
 * data: URL, and in shown by a note. 0 (also when nothing is local), or -EINVAL
 * with *err. Never call with the model's lock held. */
int local_ref_inline(enum job_kind kind, cJSON *req, cJSON *shown,
		     const struct local_ref_cred *cred, char **err);

#endif
