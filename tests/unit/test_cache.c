/* Session state: KV growth keeps the prefix, snapshots restore exactly, light snapshots
 * truncate the KV cache and are refused once the KV prefix below them was rewritten. */
#include "check.h"

#include "backend/cpu/backend_cpu.h"
#include "model/cache.h"

#include <stdlib.h>
#include <string.h>

static void tiny_config(bs_config *c, uint8_t *attn)
{
    memset(c, 0, sizeof *c);
    c->num_hidden_layers = 2;
    c->num_key_value_heads = 1;
    c->head_dim = 2;
    c->linear_num_key_heads = 1;
    c->linear_num_value_heads = 1;
    c->linear_key_head_dim = 2;
    c->linear_value_head_dim = 2;
    c->linear_conv_kernel_dim = 3;
    attn[0] = 0;
    attn[1] = 1;
    c->layer_is_attention = attn;
}

/* writes positions [pos, pos + n) of the attention layer and bumps the GDN state */
static void advance(bs_state *s, int n, float tag)
{
    boson_error err = {0};
    if (bs_state_reserve(s, s->pos + n, &err) != BOSON_OK)
        abort();
    for (int i = 0; i < n; i++) {
        float *k = s->layers[1].k + (size_t)(s->pos + i) * s->kv_width;
        k[0] = k[1] = tag + (float)(s->pos + i);
        s->layers[1].v[(size_t)(s->pos + i) * s->kv_width] = -tag;
    }
    for (size_t i = 0; i < s->ssm_size; i++)
        s->layers[0].ssm[i] += tag;
    s->layers[0].conv[0] = tag;
    s->pos += n;
}

CHECK_TEST(snapshots)
{
    bs_cpu_kernels k = bs_cpu_kernels_detect();
    bs_backend *be;
    boson_error err = {0};
    REQUIRE(bs_backend_cpu_create(NULL, &k, &be, &err) == BOSON_OK);
    bs_config cfg;
    uint8_t attn[2];
    tiny_config(&cfg, attn);
    bs_state s;
    REQUIRE(bs_state_init(&s, be, &cfg, &err) == BOSON_OK);
    CHECK_EQ_U64(s.conv_size, 2 * 6);
    CHECK_EQ_U64(s.ssm_size, 4);
    advance(&s, 5, 1.0f);
    bs_snapshot *light5, *full5;
    REQUIRE(bs_state_snapshot(&s, 0, &light5, &err) == BOSON_OK);
    REQUIRE(bs_state_snapshot(&s, 1, &full5, &err) == BOSON_OK);
    float ssm5 = s.layers[0].ssm[0];
    advance(&s, 300, 2.0f); /* grows the KV cache past 256: prefix must survive */
    CHECK(s.kv_cap >= 305);
    CHECK(s.layers[1].k[4 * s.kv_width] == 1.0f + 4);
    /* light restore: truncates, GDN state back */
    REQUIRE(bs_state_restore(&s, light5, &err) == BOSON_OK);
    CHECK_EQ_I64(s.pos, 5);
    CHECK(s.layers[0].ssm[0] == ssm5);
    CHECK(s.layers[0].conv[0] == 1.0f);
    /* rewrite from position 5 on: a light snapshot at 5 stays valid, one at 8 does not */
    advance(&s, 3, 3.0f);
    bs_snapshot *light8;
    REQUIRE(bs_state_snapshot(&s, 0, &light8, &err) == BOSON_OK);
    REQUIRE(bs_state_restore(&s, light5, &err) == BOSON_OK);
    advance(&s, 4, 4.0f); /* positions 5..8 rewritten */
    CHECK(bs_state_restore(&s, light8, &err) == BOSON_ERR_INVALID_ARG);
    CHECK_CONTAINS(err.message, "stale");
    /* a full restore brings everything back and invalidates light snapshots above 0 */
    REQUIRE(bs_state_restore(&s, full5, &err) == BOSON_OK);
    CHECK_EQ_I64(s.pos, 5);
    CHECK(s.layers[1].k[4 * s.kv_width] == 1.0f + 4);
    CHECK(s.layers[0].ssm[0] == ssm5);
    CHECK(bs_state_restore(&s, light5, &err) == BOSON_ERR_INVALID_ARG);
    bs_state_reset(&s);
    CHECK_EQ_I64(s.pos, 0);
    CHECK(s.layers[0].ssm[0] == 0.0f);
    /* snapshots may outlive the state */
    bs_snapshot_free(light8);
    bs_state_free(&s);
    CHECK(bs_state_restore(&s, full5, &err) != BOSON_OK);
    bs_snapshot_free(light5);
    bs_snapshot_free(full5);
    be->destroy(be);
}

int main(void)
{
    return check_main("test_cache", (const check_case[]){CHECK_CASE(snapshots), {0}});
}
