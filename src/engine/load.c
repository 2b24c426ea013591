#include "engine/load.h"

#include "base/error.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

boson_status bs_load(const char *dir, bs_loaded *out, boson_error *err)
{
    memset(out, 0, sizeof *out);
    double t0 = now_seconds();
    boson_status st = bs_config_load(dir, &out->cfg, err);
    if (st)
        return st;
    st = bs_ckpt_open(dir, &out->ck, err);
    if (st) {
        bs_config_free(&out->cfg);
        return st;
    }
    st = bs_plan_build(&out->cfg, &out->ck, getenv("BOSON_SEPARATE_GDN_PROJ"), &out->plan, err);
    if (st) {
        bs_ckpt_close(&out->ck);
        bs_config_free(&out->cfg);
        return st;
    }
    out->open_seconds = now_seconds() - t0;
    return BOSON_OK;
}

void bs_loaded_free(bs_loaded *l)
{
    if (!l)
        return;
    bs_plan_free(&l->plan);
    bs_ckpt_close(&l->ck);
    bs_config_free(&l->cfg);
}

void bs_loaded_log(const bs_loaded *l, FILE *out)
{
    char line[2048];
    fprintf(out, "boson: %s: %s, %zu shard%s, %zu tensors, %.1f MB; opened in %.3f s\n", l->ck.dir,
            bs_arch_name(l->cfg.arch), l->ck.n_shards, l->ck.n_shards == 1 ? "" : "s",
            l->ck.n_tensors, (double)l->ck.bytes_on_disk / 1e6, l->open_seconds);
    if (l->ck.n_skipped_vision || l->ck.n_skipped_mtp || l->ck.n_sidecars)
        fprintf(out, "boson: skipped %zu vision tensors, %zu MTP tensors, %zu MTP sidecar files\n",
                l->ck.n_skipped_vision, l->ck.n_skipped_mtp, l->ck.n_sidecars);
    if (l->ck.layout.hf_layout)
        fprintf(out, "boson: HF layout:%s%s%s\n",
                l->plan.norms_add_one ? " zero-centred norms (+1 applied)" : "",
                l->ck.layout.conv_c1k ? " conv1d [C,1,K]" : "",
                l->ck.layout.experts_unstacked ? " per-expert tensors" : "");
    bs_plan_gdn_summary(&l->plan, line, sizeof line);
    fprintf(out, "boson: %s\n", line);
    if (l->plan.n_inferred)
        fprintf(out,
                "boson: warning: %zu weights have no quantization entry and do not match the "
                "global format; their format was inferred from their shapes (see inspect "
                "--all-tensors)\n",
                l->plan.n_inferred);
    for (size_t i = 0; i < l->plan.n_unused_overrides; i++)
        fprintf(out, "boson: warning: quantization entry '%s' matches no module\n",
                l->plan.unused_overrides[i]);
}
