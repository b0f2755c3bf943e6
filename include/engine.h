/* engine.h - the worker thread that talks to the API.
 *
 * It takes work from the model (queued jobs, due polls, downloads), runs every
 * transfer on one libcurl multi handle with timeouts, writes results back into
 * the model, and tells the kernel which files changed. FUSE handlers never wait
 * on it, except account reads, which wait for one call with a short timeout.
 */
#ifndef SORA2FS_ENGINE_H
#define SORA2FS_ENGINE_H

#include <cjson/cJSON.h>

struct fuse;

/* Start the worker thread (after model_init). 0 or -errno. */
int engine_start(void);
/* Where to send cache invalidations (set once the session exists; may be NULL). */
void engine_set_fuse(struct fuse *f);
/* Stop the thread; transfers in flight are dropped (their state is on disk). */
void engine_stop(void);

enum account_op { ACCT_CREDITS, ACCT_KEY_CREDITS, ACCT_MODEL_STATUS, ACCT_CREATE_KEY };

/* One account call, made by the engine thread while the caller waits at most
 * timeout seconds. body: the complete request body (NULL for model status); not
 * kept. Returns 0 and *data (malloc'd JSON text of the envelope's data), or
 * -errno (-EACCES: the API refused the credential, -ETIMEDOUT, -EIO) with *err
 * (malloc'd words, no secrets). */
int engine_account_call(enum account_op op, const cJSON *body, double timeout,
			char **data, char **err);

#endif
