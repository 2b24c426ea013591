/* config.json parsing: real-shaped configs of the three architectures, defaults, layer
 * schedule, rope sources, the quantization dict and its key spellings, token ids, and the
 * errors a broken or lying config must produce. Expected values come from the configs in
 * the reference (qwen35-architecture.md §3, §9; mlx-format.md §6, §11-§13). */
#include "format/config.h"

#include "check.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- real-shaped configs ------------------------------------------------------------- */

#define LT4 "\"linear_attention\", \"linear_attention\", \"linear_attention\", \"full_attention\""
#define LT16 LT4 ", " LT4 ", " LT4 ", " LT4
#define LT64 LT16 ", " LT16 ", " LT16 ", " LT16

/* Qwen3.5-27B as mlx-lm writes it: nested text_config, rope_parameters, vision_config kept,
 * token ids at both levels, quantization + quantization_config copies. */
static const char k_qwen35_27b[] =
    "{\n"
    "  \"architectures\": [\"Qwen3_5ForConditionalGeneration\"],\n"
    "  \"model_type\": \"qwen3_5\",\n"
    "  \"eos_token_id\": 248046,\n"
    "  \"pad_token_id\": 248044,\n"
    "  \"image_token_id\": 248056,\n"
    "  \"video_token_id\": 248057,\n"
    "  \"vision_start_token_id\": 248053,\n"
    "  \"vision_end_token_id\": 248054,\n"
    "  \"tie_word_embeddings\": false,\n"
    "  \"hidden_size\": 999,\n"
    "  \"quantization\": {\"group_size\": 64, \"bits\": 4, \"mode\": \"affine\",\n"
    "    \"language_model.model.layers.0.linear_attn.in_proj_a\": false,\n"
    "    \"language_model.model.layers.0.mlp.down_proj\": {\"group_size\": 64, \"bits\": 6},\n"
    "    \"language_model.lm_head\": {\"group_size\": 64, \"bits\": 6}},\n"
    "  \"quantization_config\": {\"group_size\": 64, \"bits\": 4, \"mode\": \"affine\",\n"
    "    \"language_model.model.layers.0.linear_attn.in_proj_a\": false,\n"
    "    \"language_model.model.layers.0.mlp.down_proj\": {\"group_size\": 64, \"bits\": 6},\n"
    "    \"language_model.lm_head\": {\"group_size\": 64, \"bits\": 6}},\n"
    "  \"text_config\": {\n"
    "    \"model_type\": \"qwen3_5_text\",\n"
    "    \"attention_bias\": false,\n"
    "    \"attn_output_gate\": true,\n"
    "    \"dtype\": \"bfloat16\",\n"
    "    \"eos_token_id\": 248044,\n"
    "    \"full_attention_interval\": 4,\n"
    "    \"head_dim\": 256,\n"
    "    \"hidden_act\": \"silu\",\n"
    "    \"hidden_size\": 5120,\n"
    "    \"initializer_range\": 0.02,\n"
    "    \"intermediate_size\": 17408,\n"
    "    \"layer_types\": [" LT64 "],\n"
    "    \"linear_conv_kernel_dim\": 4,\n"
    "    \"linear_key_head_dim\": 128,\n"
    "    \"linear_num_key_heads\": 16,\n"
    "    \"linear_num_value_heads\": 48,\n"
    "    \"linear_value_head_dim\": 128,\n"
    "    \"mamba_ssm_dtype\": \"float32\",\n"
    "    \"max_position_embeddings\": 262144,\n"
    "    \"mlp_only_layers\": [],\n"
    "    \"mtp_num_hidden_layers\": 1,\n"
    "    \"num_attention_heads\": 24,\n"
    "    \"num_hidden_layers\": 64,\n"
    "    \"num_key_value_heads\": 4,\n"
    "    \"rms_norm_eps\": 1e-06,\n"
    "    \"rope_parameters\": {\"mrope_interleaved\": true, \"mrope_section\": [11, 11, 10],\n"
    "      \"rope_type\": \"default\", \"rope_theta\": 10000000, \"partial_rotary_factor\": "
    "0.25},\n"
    "    \"tie_word_embeddings\": false,\n"
    "    \"use_cache\": true,\n"
    "    \"vocab_size\": 248320\n"
    "  },\n"
    "  \"vision_config\": {\"depth\": 27, \"hidden_size\": 1152, \"model_type\": \"qwen3_5\"}\n"
    "}\n";

/* Qwen3.5-35B-A3B, mxfp4 conversion: every router / shared-expert gate keeps an affine 8-bit
 * entry without a mode key (mlx-lm quant_predicate). */
static const char k_qwen35_moe[] =
    "{\"model_type\": \"qwen3_5_moe\",\n"
    " \"quantization\": {\"group_size\": 32, \"bits\": 4, \"mode\": \"mxfp4\",\n"
    "   \"language_model.model.layers.0.mlp.gate\": {\"group_size\": 64, \"bits\": 8},\n"
    "   \"language_model.model.layers.0.mlp.shared_expert_gate\": {\"group_size\": 64, "
    "\"bits\": 8}},\n"
    " \"text_config\": {\"hidden_size\": 2048, \"num_hidden_layers\": 40,\n"
    "   \"num_attention_heads\": 16, \"num_key_value_heads\": 2, \"head_dim\": 256,\n"
    "   \"intermediate_size\": 6144, \"vocab_size\": 248320, \"rms_norm_eps\": 1e-6,\n"
    "   \"max_position_embeddings\": 262144, \"full_attention_interval\": 4,\n"
    "   \"linear_num_value_heads\": 32, \"linear_num_key_heads\": 16,\n"
    "   \"linear_key_head_dim\": 128, \"linear_value_head_dim\": 128,\n"
    "   \"linear_conv_kernel_dim\": 4, \"num_experts\": 256, \"num_experts_per_tok\": 8,\n"
    "   \"moe_intermediate_size\": 512, \"shared_expert_intermediate_size\": 512,\n"
    "   \"router_aux_loss_coef\": 0.001, \"hidden_act\": \"silu\",\n"
    "   \"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": 10000000,\n"
    "     \"partial_rotary_factor\": 0.25, \"mrope_section\": [11, 11, 10]},\n"
    "   \"eos_token_id\": 248044, \"tie_word_embeddings\": false}}\n";

/* Qwen3-Next-80B-A3B: flat config, top-level rope keys, model.layers.* quantization keys. */
static const char k_qwen3_next[] =
    "{\"architectures\": [\"Qwen3NextForCausalLM\"], \"model_type\": \"qwen3_next\",\n"
    " \"attention_bias\": false, \"attention_dropout\": 0.0, \"bos_token_id\": 151643,\n"
    " \"decoder_sparse_step\": 1, \"eos_token_id\": 151645, \"full_attention_interval\": 4,\n"
    " \"head_dim\": 256, \"hidden_act\": \"silu\", \"hidden_size\": 2048,\n"
    " \"intermediate_size\": 5120, \"linear_conv_kernel_dim\": 4, \"linear_key_head_dim\": 128,\n"
    " \"linear_num_key_heads\": 16, \"linear_num_value_heads\": 32,\n"
    " \"linear_value_head_dim\": 128, \"max_position_embeddings\": 262144,\n"
    " \"mlp_only_layers\": [], \"moe_intermediate_size\": 512, \"norm_topk_prob\": true,\n"
    " \"num_attention_heads\": 16, \"num_experts\": 512, \"num_experts_per_tok\": 10,\n"
    " \"num_hidden_layers\": 48, \"num_key_value_heads\": 2, \"output_router_logits\": false,\n"
    " \"partial_rotary_factor\": 0.25, \"rms_norm_eps\": 1e-06, \"rope_scaling\": null,\n"
    " \"rope_theta\": 10000000, \"router_aux_loss_coef\": 0.001,\n"
    " \"shared_expert_intermediate_size\": 512, \"tie_word_embeddings\": false,\n"
    " \"torch_dtype\": \"bfloat16\", \"use_cache\": true, \"use_sliding_window\": false,\n"
    " \"vocab_size\": 151936,\n"
    " \"quantization\": {\"group_size\": 64, \"bits\": 4,\n"
    "   \"model.layers.0.mlp.gate\": {\"group_size\": 64, \"bits\": 8},\n"
    "   \"model.layers.0.mlp.shared_expert_gate\": {\"group_size\": 64, \"bits\": 8}}}\n";

/* A small Qwen3.5 dense config used as the base of many edits. */
static const char k_small[] =
    "{\"model_type\": \"qwen3_5\",\n"
    " \"text_config\": {\"hidden_size\": 1024, \"num_hidden_layers\": 8,\n"
    "   \"num_attention_heads\": 8, \"num_key_value_heads\": 2, \"head_dim\": 256,\n"
    "   \"intermediate_size\": 3584, \"vocab_size\": 248320,\n"
    "   \"linear_num_value_heads\": 16, \"linear_num_key_heads\": 16,\n"
    "   \"linear_key_head_dim\": 128, \"linear_value_head_dim\": 128,\n"
    "   \"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": 10000000,\n"
    "     \"partial_rotary_factor\": 0.25},\n"
    "   \"tie_word_embeddings\": true}}";

/* ---- helpers --------------------------------------------------------------------------- */

/* base with the first occurrence of `from` replaced by `to` (malloc'd; NULL if absent). */
static char *sub(const char *base, const char *from, const char *to)
{
    const char *p = base ? strstr(base, from) : NULL;
    if (!p)
        return NULL;
    size_t nb = strlen(base), nf = strlen(from), nt = strlen(to);
    char *s = malloc(nb - nf + nt + 1);
    if (!s)
        return NULL;
    memcpy(s, base, (size_t)(p - base));
    memcpy(s + (p - base), to, nt);
    memcpy(s + (p - base) + nt, p + nf, nb - (size_t)(p - base) - nf + 1);
    return s;
}

static boson_status parse(const char *cfg, const char *gen, bs_config *c, boson_error *e)
{
    return bs_config_parse(cfg, strlen(cfg), gen, gen ? strlen(gen) : 0, "config.json", c, e);
}

/* Parses cfg (+ gen) and expects status `want` with a message containing `needle`. */
static void expect_err_(check_ctx *ctx_, int line, const char *cfg, const char *gen,
                        boson_status want, const char *needle)
{
    if (!cfg) {
        CHECK_FAIL_("line %d: test edit did not apply", line);
        return;
    }
    bs_config c;
    boson_error e = {0};
    boson_status st = parse(cfg, gen, &c, &e);
    if (st != want)
        CHECK_FAIL_("line %d: status %d, want %d (%s)", line, (int)st, (int)want, e.message);
    CHECK_CONTAINS(e.message, needle);
    CHECK(c.layer_is_attention == NULL && c.overrides == NULL);
    bs_config_free(&c);
}
#define EXPECT_ERR(cfg, gen, want, needle) expect_err_(ctx_, __LINE__, cfg, gen, want, needle)

/* Applies one edit to base and expects an error. */
static void expect_edit_err_(check_ctx *ctx_, int line, const char *base, const char *from,
                             const char *to, boson_status want, const char *needle)
{
    char *s = sub(base, from, to);
    expect_err_(ctx_, line, s, NULL, want, needle);
    free(s);
}
#define EXPECT_EDIT_ERR(base, from, to, want, needle) \
    expect_edit_err_(ctx_, __LINE__, base, from, to, want, needle)

static int count(const uint8_t *v, int64_t n)
{
    int k = 0;
    for (int64_t i = 0; i < n; i++)
        k += v[i] != 0;
    return k;
}

/* ---- architectures --------------------------------------------------------------------- */

CHECK_TEST(qwen35_27b_nested)
{
    bs_config c;
    boson_error e = {0};
    REQUIRE(parse(k_qwen35_27b, NULL, &c, &e) == BOSON_OK);
    CHECK(c.arch == BS_ARCH_QWEN3_5);
    CHECK_STR_EQ(c.model_type, "qwen3_5");
    CHECK(c.has_text_config == 1);
    CHECK_EQ_I64(c.hidden_size, 5120); /* the top-level 999 is ignored */
    CHECK_EQ_I64(c.intermediate_size, 17408);
    CHECK_EQ_I64(c.num_hidden_layers, 64);
    CHECK_EQ_I64(c.num_attention_heads, 24);
    CHECK_EQ_I64(c.num_key_value_heads, 4);
    CHECK_EQ_I64(c.head_dim, 256);
    CHECK_EQ_I64(c.vocab_size, 248320);
    CHECK_EQ_I64(c.max_position_embeddings, 262144);
    CHECK_NEAR(c.rms_norm_eps, 1e-6, 1e-15);
    CHECK_NEAR(c.rope_theta, 1e7, 0);
    CHECK_NEAR(c.partial_rotary_factor, 0.25, 0);
    CHECK_EQ_I64(c.rotary_dim, 64);
    CHECK(c.attention_bias == 0);
    CHECK(c.tie_word_embeddings == 0);
    CHECK_EQ_I64(c.linear_num_value_heads, 48);
    CHECK_EQ_I64(c.linear_num_key_heads, 16);
    CHECK_EQ_I64(c.linear_key_head_dim, 128);
    CHECK_EQ_I64(c.linear_value_head_dim, 128);
    CHECK_EQ_I64(c.linear_conv_kernel_dim, 4);
    CHECK_EQ_I64(c.full_attention_interval, 4);
    REQUIRE(c.layer_is_attention && c.layer_is_moe);
    CHECK_EQ_I64(count(c.layer_is_attention, 64), 16);
    CHECK(!c.layer_is_attention[0] && !c.layer_is_attention[2] && c.layer_is_attention[3]);
    CHECK(c.layer_is_attention[63] && !c.layer_is_attention[62]);
    CHECK_EQ_I64(count(c.layer_is_moe, 64), 0);
    CHECK_EQ_I64(c.num_experts, 0);
    CHECK(c.norm_topk_prob == 1);
    CHECK(c.separate_gdn_proj == -1);
    /* eos: top-level 248046 and text_config 248044, both kept */
    CHECK_EQ_I64(c.n_eos, 2);
    CHECK_EQ_I64(c.eos_ids[0], 248046);
    CHECK_EQ_I64(c.eos_ids[1], 248044);
    CHECK_EQ_I64(c.pad_id, 248044);
    CHECK_EQ_I64(c.bos_id, -1);
    CHECK(isnan(c.gen_temperature) && c.gen_top_k == -1);
    /* quantization */
    CHECK(c.has_quantization == 1);
    CHECK(c.quant_default.mode == BS_QMODE_AFFINE);
    CHECK_EQ_I64(c.quant_default.bits, 4);
    CHECK_EQ_I64(c.quant_default.group_size, 64);
    REQUIRE(c.n_overrides == 3);
    CHECK_STR_EQ(c.overrides[0].module, "model.layers.0.linear_attn.in_proj_a");
    CHECK_STR_EQ(c.overrides[0].raw_key, "language_model.model.layers.0.linear_attn.in_proj_a");
    CHECK(c.overrides[0].spec.mode == BS_QMODE_NONE);
    CHECK_STR_EQ(c.overrides[1].module, "model.layers.0.mlp.down_proj");
    CHECK(c.overrides[1].spec.mode == BS_QMODE_AFFINE);
    CHECK_EQ_I64(c.overrides[1].spec.bits, 6);
    const bs_qoverride *o = bs_config_find_override(&c, "lm_head");
    REQUIRE(o != NULL);
    CHECK_EQ_I64(o->spec.bits, 6);
    CHECK_STR_EQ(o->raw_key, "language_model.lm_head");
    CHECK(bs_config_find_override(&c, "model.layers.1.mlp.down_proj") == NULL);
    CHECK(bs_config_find_override(&c, "language_model.lm_head") == NULL);
    bs_config_free(&c);
    CHECK(c.overrides == NULL && c.layer_is_attention == NULL && c.n_overrides == 0);
}

CHECK_TEST(qwen35_moe_mxfp4_routers_stay_affine)
{
    bs_config c;
    boson_error e = {0};
    REQUIRE(parse(k_qwen35_moe, NULL, &c, &e) == BOSON_OK);
    CHECK(c.arch == BS_ARCH_QWEN3_5_MOE);
    CHECK_EQ_I64(c.num_experts, 256);
    CHECK_EQ_I64(c.num_experts_per_tok, 8);
    CHECK_EQ_I64(c.moe_intermediate_size, 512);
    CHECK_EQ_I64(c.shared_expert_intermediate_size, 512);
    CHECK(c.norm_topk_prob == 1); /* qwen3_5 default */
    CHECK_EQ_I64(count(c.layer_is_moe, 40), 40);
    CHECK_EQ_I64(count(c.layer_is_attention, 40), 10);
    CHECK(c.quant_default.mode == BS_QMODE_MXFP4);
    CHECK_EQ_I64(c.quant_default.group_size, 32);
    const bs_qoverride *o = bs_config_find_override(&c, "model.layers.0.mlp.gate");
    REQUIRE(o != NULL);
    CHECK(o->spec.mode == BS_QMODE_AFFINE); /* no mode key: affine, not the global mxfp4 */
    CHECK_EQ_I64(o->spec.bits, 8);
    CHECK_EQ_I64(o->spec.group_size, 64);
    CHECK(bs_config_find_override(&c, "model.layers.0.mlp.shared_expert_gate") != NULL);
    CHECK_EQ_I64(c.n_eos, 1);
    CHECK_EQ_I64(c.eos_ids[0], 248044);
    bs_config_free(&c);

    /* qwen3_5_moe without experts is not a MoE model */
    EXPECT_EDIT_ERR(k_qwen35_moe, "\"num_experts\": 256", "\"num_experts\": 0", BOSON_ERR_CONFIG,
                    "text_config.num_experts must be > 0 for qwen3_5_moe");
    EXPECT_EDIT_ERR(k_qwen35_moe, "\"num_experts_per_tok\": 8", "\"num_experts_per_tok\": 300",
                    BOSON_ERR_CONFIG,
                    "text_config.num_experts_per_tok (300) must be between 1 and num_experts "
                    "(256)");
    EXPECT_EDIT_ERR(k_qwen35_moe, "\"moe_intermediate_size\": 512", "\"moe_intermediate_size\": 0",
                    BOSON_ERR_CONFIG, "text_config.moe_intermediate_size must be > 0");
}

CHECK_TEST(qwen3_next_flat)
{
    bs_config c;
    boson_error e = {0};
    REQUIRE(parse(k_qwen3_next, NULL, &c, &e) == BOSON_OK);
    CHECK(c.arch == BS_ARCH_QWEN3_NEXT);
    CHECK(c.has_text_config == 0);
    CHECK_EQ_I64(c.hidden_size, 2048);
    CHECK_EQ_I64(c.num_hidden_layers, 48);
    CHECK_EQ_I64(c.head_dim, 256);
    CHECK_EQ_I64(c.vocab_size, 151936);
    CHECK_EQ_I64(c.num_experts, 512);
    CHECK_EQ_I64(c.num_experts_per_tok, 10);
    CHECK(c.norm_topk_prob == 1);
    CHECK_NEAR(c.rope_theta, 1e7, 0);
    CHECK_EQ_I64(c.rotary_dim, 64);
    CHECK_EQ_I64(count(c.layer_is_moe, 48), 48);
    CHECK_EQ_I64(count(c.layer_is_attention, 48), 12);
    CHECK_EQ_I64(c.bos_id, 151643);
    CHECK_EQ_I64(c.n_eos, 1);
    CHECK_EQ_I64(c.eos_ids[0], 151645);
    CHECK(c.quant_default.mode == BS_QMODE_AFFINE); /* no mode key */
    CHECK_EQ_I64(c.n_overrides, 2);
    const bs_qoverride *o = bs_config_find_override(&c, "model.layers.0.mlp.gate");
    REQUIRE(o != NULL);
    CHECK_EQ_I64(o->spec.bits, 8);
    bs_config_free(&c);
}

CHECK_TEST(qwen3_next_moe_schedule)
{
    /* mlp_only_layers and decoder_sparse_step decide the MoE layers */
    char *a = sub(k_qwen3_next, "\"mlp_only_layers\": []", "\"mlp_only_layers\": [0, 5]");
    char *s = sub(a, "\"decoder_sparse_step\": 1", "\"decoder_sparse_step\": 2");
    free(a);
    REQUIRE(s != NULL);
    bs_config c;
    boson_error e = {0};
    REQUIRE(parse(s, NULL, &c, &e) == BOSON_OK);
    CHECK(c.layer_is_moe[0] == 0); /* (0+1) % 2 != 0 */
    CHECK(c.layer_is_moe[1] == 1);
    CHECK(c.layer_is_moe[2] == 0);
    CHECK(c.layer_is_moe[3] == 1);
    CHECK(c.layer_is_moe[5] == 0); /* mlp_only */
    CHECK(c.layer_is_moe[7] == 1);
    CHECK_EQ_I64(count(c.layer_is_moe, 48), 23);
    bs_config_free(&c);
    free(s);

    EXPECT_EDIT_ERR(k_qwen3_next, "\"mlp_only_layers\": []", "\"mlp_only_layers\": [48]",
                    BOSON_ERR_CONFIG, "mlp_only_layers[0] must be a layer index in [0, 48)");
    EXPECT_EDIT_ERR(k_qwen3_next, "\"decoder_sparse_step\": 1", "\"decoder_sparse_step\": 0",
                    BOSON_ERR_CONFIG, "decoder_sparse_step = 0 is out of range");
}

CHECK_TEST(qwen3_next_required_fields)
{
    EXPECT_EDIT_ERR(k_qwen3_next, "\"head_dim\": 256,", "", BOSON_ERR_CONFIG,
                    "config.json: head_dim is missing (required for qwen3_next)");
    EXPECT_EDIT_ERR(k_qwen3_next, "\"rope_theta\": 10000000,", "", BOSON_ERR_CONFIG,
                    "rope_theta is missing (required for qwen3_next)");
    EXPECT_EDIT_ERR(k_qwen3_next, "\"partial_rotary_factor\": 0.25,", "", BOSON_ERR_CONFIG,
                    "partial_rotary_factor is missing (required for qwen3_next)");
    EXPECT_EDIT_ERR(k_qwen3_next, "\"mlp_only_layers\": [],", "", BOSON_ERR_CONFIG,
                    "mlp_only_layers is missing (required for qwen3_next)");
    EXPECT_EDIT_ERR(k_qwen3_next, "\"num_experts\": 512,", "", BOSON_ERR_CONFIG,
                    "num_experts is missing (required for qwen3_next)");
    EXPECT_EDIT_ERR(k_qwen3_next, "\"vocab_size\": 151936,", "", BOSON_ERR_CONFIG,
                    "vocab_size is missing (required for qwen3_next)");
    /* rope keys inside rope_parameters satisfy the requirement */
    char *a = sub(k_qwen3_next, "\"rope_theta\": 10000000,", "");
    char *s = sub(a, "\"rope_scaling\": null",
                  "\"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": 5e6}");
    free(a);
    REQUIRE(s != NULL);
    bs_config c;
    boson_error e = {0};
    CHECK(parse(s, NULL, &c, &e) == BOSON_OK);
    CHECK_NEAR(c.rope_theta, 5e6, 0);
    bs_config_free(&c);
    free(s);
}

CHECK_TEST(qwen35_defaults_like_mlx_lm)
{
    /* every field absent: mlx-lm TextModelArgs defaults (reference §3.2) */
    bs_config c;
    boson_error e = {0};
    REQUIRE(parse("{\"model_type\": \"qwen3_5\"}", NULL, &c, &e) == BOSON_OK);
    CHECK(c.has_text_config == 0);
    CHECK_EQ_I64(c.hidden_size, 4096);
    CHECK_EQ_I64(c.intermediate_size, 14336);
    CHECK_EQ_I64(c.num_hidden_layers, 32);
    CHECK_EQ_I64(c.num_attention_heads, 32);
    CHECK_EQ_I64(c.num_key_value_heads, 8);
    CHECK_EQ_I64(c.head_dim, 128); /* H / Nh */
    CHECK_EQ_I64(c.vocab_size, 151936);
    CHECK_EQ_I64(c.max_position_embeddings, 131072);
    CHECK_EQ_I64(c.linear_num_value_heads, 64);
    CHECK_EQ_I64(c.linear_num_key_heads, 16);
    CHECK_EQ_I64(c.linear_key_head_dim, 192);
    CHECK_EQ_I64(c.linear_value_head_dim, 128);
    CHECK_EQ_I64(c.linear_conv_kernel_dim, 4);
    CHECK_EQ_I64(c.full_attention_interval, 4);
    CHECK_NEAR(c.rope_theta, 1e5, 0);
    CHECK_NEAR(c.partial_rotary_factor, 0.25, 0);
    CHECK_EQ_I64(c.rotary_dim, 32);
    CHECK(c.tie_word_embeddings == 0);
    CHECK(c.has_quantization == 0 && c.n_overrides == 0);
    CHECK(c.quant_default.mode == BS_QMODE_NONE);
    CHECK_EQ_I64(c.n_eos, 0);
    bs_config_free(&c);
}

CHECK_TEST(text_only_model_types)
{
    bs_config c;
    boson_error e = {0};
    REQUIRE(parse("{\"model_type\": \"qwen3_5_text\", \"hidden_size\": 1024}", NULL, &c, &e) ==
            BOSON_OK);
    CHECK(c.arch == BS_ARCH_QWEN3_5);
    CHECK_STR_EQ(c.model_type, "qwen3_5_text");
    CHECK_EQ_I64(c.hidden_size, 1024);
    bs_config_free(&c);
    REQUIRE(parse("{\"model_type\": \"qwen3_5_moe_text\", \"num_experts\": 4, "
                  "\"num_experts_per_tok\": 2, \"moe_intermediate_size\": 64}",
                  NULL, &c, &e) == BOSON_OK);
    CHECK(c.arch == BS_ARCH_QWEN3_5_MOE);
    CHECK_EQ_I64(count(c.layer_is_moe, c.num_hidden_layers), 32);
    bs_config_free(&c);
    CHECK_STR_EQ(bs_arch_name(BS_ARCH_QWEN3_5), "qwen3_5");
    CHECK_STR_EQ(bs_arch_name(BS_ARCH_QWEN3_5_MOE), "qwen3_5_moe");
    CHECK_STR_EQ(bs_arch_name(BS_ARCH_QWEN3_NEXT), "qwen3_next");
}

CHECK_TEST(qwen35_with_experts_is_moe)
{
    /* mlx-lm's qwen3_5 uses the sparse block iff num_experts > 0 */
    bs_config c;
    boson_error e = {0};
    REQUIRE(parse("{\"model_type\": \"qwen3_5\", \"num_hidden_layers\": 4, \"num_experts\": 8, "
                  "\"num_experts_per_tok\": 2, \"moe_intermediate_size\": 64, "
                  "\"intermediate_size\": 0}",
                  NULL, &c, &e) == BOSON_OK);
    CHECK(c.arch == BS_ARCH_QWEN3_5);
    CHECK_EQ_I64(count(c.layer_is_moe, 4), 4);
    bs_config_free(&c);
    /* a dense layer needs an intermediate size */
    EXPECT_ERR("{\"model_type\": \"qwen3_5\", \"intermediate_size\": 0}", NULL, BOSON_ERR_CONFIG,
               "intermediate_size must be > 0 (layer 0 has a dense MLP)");
}

CHECK_TEST(model_type_errors)
{
    bs_config c;
    boson_error e = {0};
    CHECK(parse("{\"model_type\": \"llama\"}", NULL, &c, &e) == BOSON_ERR_UNSUPPORTED);
    CHECK_STR_EQ(e.message, "config.json: model_type 'llama' is not supported; supported: "
                            "qwen3_5, qwen3_5_moe, qwen3_next");
    EXPECT_ERR("{\"hidden_size\": 1}", NULL, BOSON_ERR_CONFIG, "model_type is missing");
    EXPECT_ERR("{\"model_type\": 35}", NULL, BOSON_ERR_CONFIG,
               "model_type must be a string (got integer)");
    /* only the text_config spelling: accepted */
    REQUIRE(parse("{\"text_config\": {\"model_type\": \"qwen3_5_text\"}}", NULL, &c, &e) ==
            BOSON_OK);
    CHECK(c.arch == BS_ARCH_QWEN3_5 && c.has_text_config == 1);
    bs_config_free(&c);
}

CHECK_TEST(json_level_errors)
{
    EXPECT_ERR("{\"model_type\": \"qwen3_5\",", NULL, BOSON_ERR_CONFIG,
               "config.json: invalid JSON at line");
    EXPECT_ERR("[1, 2]", NULL, BOSON_ERR_CONFIG, "top level must be a JSON object (got array)");
    EXPECT_ERR("{\"model_type\": \"qwen3_5\", \"model_type\": \"qwen3_5\"}", NULL, BOSON_ERR_CONFIG,
               "duplicate");
    EXPECT_ERR("{\"model_type\": \"qwen3_5\"} trailing", NULL, BOSON_ERR_CONFIG, "invalid JSON");
    EXPECT_ERR("{\"model_type\": \"qwen3_5\", \"text_config\": []}", NULL, BOSON_ERR_CONFIG,
               "text_config must be an object (got array)");
    EXPECT_ERR("{\"model_type\": \"qwen3_5\"}", "{\"eos_token_id\": ", BOSON_ERR_CONFIG,
               "generation_config.json: invalid JSON");
    /* text with an embedded NUL byte */
    bs_config c;
    boson_error e = {0};
    static const char nul[] = "{\"model_type\": \"qwen3_5\"}\0{}";
    CHECK(bs_config_parse(nul, sizeof nul - 1, NULL, 0, "x", &c, &e) == BOSON_ERR_CONFIG);
    /* size limit checked before anything is read */
    CHECK(bs_config_parse("{}", ((size_t)64 << 20) + 1, NULL, 0, "big.json", &c, &e) ==
          BOSON_ERR_CONFIG);
    CHECK_CONTAINS(e.message, "big.json: 67108865 bytes is larger than the 64 MiB limit");
    CHECK(bs_config_parse("{}", 2, "{}", ((size_t)64 << 20) + 1, "x", &c, &e) == BOSON_ERR_CONFIG);
    CHECK_CONTAINS(e.message, "generation_config.json: 67108865 bytes");
}

/* ---- rope -------------------------------------------------------------------------------- */

CHECK_TEST(rope_sources)
{
    bs_config c;
    boson_error e = {0};
    /* flat config without rope_parameters: top-level keys win over mlx-lm's defaults */
    REQUIRE(parse("{\"model_type\": \"qwen3_5\", \"head_dim\": 256, \"rope_theta\": 1e7, "
                  "\"partial_rotary_factor\": 0.5}",
                  NULL, &c, &e) == BOSON_OK);
    CHECK_NEAR(c.rope_theta, 1e7, 0);
    CHECK_EQ_I64(c.rotary_dim, 128);
    bs_config_free(&c);
    /* rope_parameters wins over the top-level keys */
    REQUIRE(parse("{\"model_type\": \"qwen3_5\", \"head_dim\": 256, \"rope_theta\": 1e6, "
                  "\"rope_parameters\": {\"type\": \"mrope\", \"rope_theta\": 2e7}}",
                  NULL, &c, &e) == BOSON_OK);
    CHECK_NEAR(c.rope_theta, 2e7, 0);
    CHECK_EQ_I64(c.rotary_dim, 64); /* factor from the default 0.25 */
    bs_config_free(&c);
    /* rope_scaling is read like rope_parameters */
    REQUIRE(parse("{\"model_type\": \"qwen3_5\", \"head_dim\": 256, "
                  "\"rope_scaling\": {\"rope_type\": \"default\", \"rope_theta\": 3e6, "
                  "\"partial_rotary_factor\": 1.0}}",
                  NULL, &c, &e) == BOSON_OK);
    CHECK_NEAR(c.rope_theta, 3e6, 0);
    CHECK_EQ_I64(c.rotary_dim, 256);
    bs_config_free(&c);
    /* nested: text_config.rope_parameters */
    REQUIRE(parse(k_small, NULL, &c, &e) == BOSON_OK);
    CHECK_NEAR(c.rope_theta, 1e7, 0);
    CHECK_EQ_I64(c.rotary_dim, 64);
    bs_config_free(&c);

    EXPECT_EDIT_ERR(k_small, "\"rope_type\": \"default\"", "\"rope_type\": \"yarn\"",
                    BOSON_ERR_UNSUPPORTED,
                    "text_config.rope_parameters.rope_type 'yarn' is not supported");
    EXPECT_EDIT_ERR(k_small, "\"partial_rotary_factor\": 0.25", "\"partial_rotary_factor\": 1.5",
                    BOSON_ERR_CONFIG, "text_config.rope_parameters.partial_rotary_factor = 1.5");
    EXPECT_EDIT_ERR(k_small, "\"rope_theta\": 10000000", "\"rope_theta\": \"big\"",
                    BOSON_ERR_CONFIG,
                    "text_config.rope_parameters.rope_theta must be a number (got string)");
    /* 100 * 0.25 = 25 rotary dims: odd */
    EXPECT_EDIT_ERR(k_small, "\"head_dim\": 256", "\"head_dim\": 100", BOSON_ERR_CONFIG,
                    "gives 25 rotary dims; it must be even");
    EXPECT_EDIT_ERR(k_small, "\"partial_rotary_factor\": 0.25", "\"partial_rotary_factor\": 0.0",
                    BOSON_ERR_CONFIG, "gives 0 rotary dims");
    EXPECT_ERR("{\"model_type\": \"qwen3_5\", \"rope_parameters\": 5}", NULL, BOSON_ERR_CONFIG,
               "rope_parameters must be an object (got integer)");
}

/* ---- layer schedule ------------------------------------------------------------------ */

CHECK_TEST(layer_types_agreement)
{
    static const char base[] =
        "{\"model_type\": \"qwen3_5\", \"num_hidden_layers\": 8, \"full_attention_interval\": 4,"
        " \"layer_types\": [" LT4 ", " LT4 "]}";
    bs_config c;
    boson_error e = {0};
    REQUIRE(parse(base, NULL, &c, &e) == BOSON_OK);
    CHECK(c.layer_is_attention[3] && c.layer_is_attention[7]);
    CHECK_EQ_I64(count(c.layer_is_attention, 8), 2);
    bs_config_free(&c);

    /* layer 2 claims full attention, the interval says linear */
    static const char bad[] =
        "{\"model_type\": \"qwen3_5\", \"num_hidden_layers\": 4, \"layer_types\": "
        "[\"linear_attention\", \"linear_attention\", \"full_attention\", \"full_attention\"]}";
    EXPECT_ERR(bad, NULL, BOSON_ERR_CONFIG,
               "config.json: layer_types[2] is 'full_attention' but full_attention_interval 4 "
               "makes layer 2 linear attention");
    EXPECT_ERR("{\"model_type\": \"qwen3_5\", \"num_hidden_layers\": 4, \"layer_types\": "
               "[\"linear_attention\", \"linear_attention\", \"linear_attention\", "
               "\"linear_attention\"]}",
               NULL, BOSON_ERR_CONFIG, "layer_types[3] is 'linear_attention'");
    EXPECT_ERR("{\"model_type\": \"qwen3_5\", \"num_hidden_layers\": 8, \"layer_types\": [" LT4
               "]}",
               NULL, BOSON_ERR_CONFIG, "layer_types has 4 entries but num_hidden_layers is 8");
    EXPECT_ERR("{\"model_type\": \"qwen3_5\", \"num_hidden_layers\": 2, \"layer_types\": "
               "[\"linear_attention\", \"sliding_attention\"]}",
               NULL, BOSON_ERR_CONFIG,
               "layer_types[1] must be \"linear_attention\" or \"full_attention\" (got "
               "'sliding_attention')");
    EXPECT_ERR("{\"model_type\": \"qwen3_5\", \"layer_types\": {}}", NULL, BOSON_ERR_CONFIG,
               "layer_types must be an array");
    /* a different interval changes the schedule */
    REQUIRE(parse("{\"model_type\": \"qwen3_5\", \"num_hidden_layers\": 6, "
                  "\"full_attention_interval\": 3}",
                  NULL, &c, &e) == BOSON_OK);
    CHECK(!c.layer_is_attention[0] && !c.layer_is_attention[1] && c.layer_is_attention[2]);
    CHECK(c.layer_is_attention[5] && !c.layer_is_attention[4]);
    bs_config_free(&c);
}

/* ---- lying sizes --------------------------------------------------------------------- */

CHECK_TEST(lying_sizes)
{
    EXPECT_EDIT_ERR(k_small, "\"hidden_size\": 1024", "\"hidden_size\": 1099511627776",
                    BOSON_ERR_CONFIG, "text_config.hidden_size = 1099511627776 is out of range");
    EXPECT_EDIT_ERR(k_small, "\"num_hidden_layers\": 8", "\"num_hidden_layers\": -8",
                    BOSON_ERR_CONFIG, "text_config.num_hidden_layers = -8 is out of range");
    EXPECT_EDIT_ERR(k_small, "\"num_hidden_layers\": 8", "\"num_hidden_layers\": 100000",
                    BOSON_ERR_CONFIG, "num_hidden_layers = 100000 is out of range [1, 4096]");
    EXPECT_EDIT_ERR(k_small, "\"num_attention_heads\": 8", "\"num_attention_heads\": 0",
                    BOSON_ERR_CONFIG, "text_config.num_attention_heads = 0 is out of range");
    EXPECT_EDIT_ERR(k_small, "\"num_hidden_layers\": 8", "\"num_hidden_layers\": 8.5",
                    BOSON_ERR_CONFIG,
                    "text_config.num_hidden_layers must be an integer (got real)");
    EXPECT_EDIT_ERR(k_small, "\"vocab_size\": 248320", "\"vocab_size\": 99999999999",
                    BOSON_ERR_CONFIG, "text_config.vocab_size");
    EXPECT_EDIT_ERR(k_small, "\"linear_num_key_heads\": 16", "\"linear_num_key_heads\": 5",
                    BOSON_ERR_CONFIG,
                    "text_config.linear_num_key_heads must divide linear_num_value_heads (5 vs "
                    "16)");
    EXPECT_EDIT_ERR(k_small, "\"num_key_value_heads\": 2", "\"num_key_value_heads\": 3",
                    BOSON_ERR_CONFIG,
                    "text_config.num_key_value_heads must divide num_attention_heads (3 vs 8)");
    EXPECT_EDIT_ERR(
        k_small, "\"num_attention_heads\": 8, \"num_key_value_heads\": 2, \"head_dim\": 256",
        "\"num_attention_heads\": 512, \"num_key_value_heads\": 2, \"head_dim\": 65536",
        BOSON_ERR_CONFIG, "text_config.num_attention_heads * head_dim = 33554432 exceeds 16777216");
    char *s = sub(k_small, "\"linear_num_value_heads\": 16", "\"linear_num_value_heads\": 65536");
    EXPECT_EDIT_ERR(s, "\"linear_value_head_dim\": 128", "\"linear_value_head_dim\": 1024",
                    BOSON_ERR_CONFIG,
                    "linear_num_value_heads * linear_value_head_dim = 67108864 exceeds");
    free(s);
    EXPECT_EDIT_ERR(k_small, "\"head_dim\": 256", "\"head_dim\": null, \"hidden_size\": 1000",
                    BOSON_ERR_CONFIG, "duplicate");
    EXPECT_ERR("{\"model_type\": \"qwen3_5\", \"hidden_size\": 1000, \"num_attention_heads\": 16}",
               NULL, BOSON_ERR_CONFIG,
               "head_dim is absent and num_attention_heads (16) does not divide hidden_size "
               "(1000)");
    EXPECT_ERR("{\"model_type\": \"qwen3_5\", \"rms_norm_eps\": 0}", NULL, BOSON_ERR_CONFIG,
               "rms_norm_eps must be > 0");
    EXPECT_ERR("{\"model_type\": \"qwen3_5\", \"attention_bias\": 0}", NULL, BOSON_ERR_CONFIG,
               "attention_bias must be a JSON boolean");
    EXPECT_ERR("{\"model_type\": \"qwen3_5\", \"num_experts\": 100000}", NULL, BOSON_ERR_CONFIG,
               "num_experts = 100000 is out of range");
    EXPECT_ERR("{\"model_type\": \"qwen3_5\", \"linear_conv_kernel_dim\": 0}", NULL,
               BOSON_ERR_CONFIG, "linear_conv_kernel_dim = 0 is out of range");
    EXPECT_ERR("{\"model_type\": \"qwen3_5\", \"full_attention_interval\": 0}", NULL,
               BOSON_ERR_CONFIG, "full_attention_interval = 0 is out of range");
    EXPECT_EDIT_ERR(k_small, "\"num_hidden_layers\": 8",
                    "\"num_hidden_layers\": 8, "
                    "\"hidden_act\": \"gelu\"",
                    BOSON_ERR_UNSUPPORTED,
                    "text_config.hidden_act 'gelu' is not supported (only silu)");
    EXPECT_ERR("{\"model_type\": \"qwen3_5\", \"attn_output_gate\": false}", NULL,
               BOSON_ERR_UNSUPPORTED, "attn_output_gate false is not supported");
    /* head_dim null: the mlx-lm default H / Nh */
    bs_config c;
    boson_error e = {0};
    REQUIRE(parse("{\"model_type\": \"qwen3_5\", \"hidden_size\": 2048, \"num_attention_heads\": "
                  "8, \"head_dim\": null}",
                  NULL, &c, &e) == BOSON_OK);
    CHECK_EQ_I64(c.head_dim, 256);
    bs_config_free(&c);
}

/* ---- tied embeddings, separate GDN projections --------------------------------------------- */

CHECK_TEST(tie_word_embeddings_levels)
{
    bs_config c;
    boson_error e = {0};
    REQUIRE(parse(k_small, NULL, &c, &e) == BOSON_OK);
    CHECK(c.tie_word_embeddings == 1);
    bs_config_free(&c);
    /* only at the top level of a nested config: accepted there */
    REQUIRE(parse("{\"model_type\": \"qwen3_5\", \"tie_word_embeddings\": true, "
                  "\"text_config\": {\"hidden_size\": 1024}}",
                  NULL, &c, &e) == BOSON_OK);
    CHECK(c.tie_word_embeddings == 1);
    bs_config_free(&c);
    /* text_config wins when present there */
    REQUIRE(parse("{\"model_type\": \"qwen3_5\", \"tie_word_embeddings\": true, "
                  "\"text_config\": {\"tie_word_embeddings\": false}}",
                  NULL, &c, &e) == BOSON_OK);
    CHECK(c.tie_word_embeddings == 0);
    bs_config_free(&c);
}

CHECK_TEST(separate_gdn_projections)
{
    bs_config c;
    boson_error e = {0};
    REQUIRE(parse(k_small, NULL, &c, &e) == BOSON_OK);
    CHECK_EQ_I64(c.separate_gdn_proj, -1);
    bs_config_free(&c);
    char *s = sub(k_small, "\"tie_word_embeddings\": true",
                  "\"tie_word_embeddings\": true, \"use_separate_gdn_projections\": true");
    REQUIRE(s && parse(s, NULL, &c, &e) == BOSON_OK);
    CHECK_EQ_I64(c.separate_gdn_proj, 1);
    bs_config_free(&c);
    free(s);
    s = sub(k_small, "\"tie_word_embeddings\": true",
            "\"tie_word_embeddings\": true, \"use_separate_gdn_projections\": false");
    REQUIRE(s && parse(s, NULL, &c, &e) == BOSON_OK);
    CHECK_EQ_I64(c.separate_gdn_proj, 0);
    bs_config_free(&c);
    free(s);
    /* top level when text_config does not have it */
    s = sub(k_small, "{\"model_type\": \"qwen3_5\",",
            "{\"model_type\": \"qwen3_5\", \"use_separate_gdn_projections\": true,");
    REQUIRE(s && parse(s, NULL, &c, &e) == BOSON_OK);
    CHECK_EQ_I64(c.separate_gdn_proj, 1);
    bs_config_free(&c);
    free(s);
    EXPECT_EDIT_ERR(k_small, "\"tie_word_embeddings\": true",
                    "\"tie_word_embeddings\": true, \"use_separate_gdn_projections\": \"yes\"",
                    BOSON_ERR_CONFIG,
                    "text_config.use_separate_gdn_projections must be a JSON boolean true/false "
                    "(got string)");
    EXPECT_ERR("{\"model_type\": \"qwen3_5\", \"use_separate_gdn_projections\": 1}", NULL,
               BOSON_ERR_CONFIG, "use_separate_gdn_projections must be a JSON boolean");
}

/* ---- quantization dict --------------------------------------------------------------- */

#define QCFG(q) "{\"model_type\": \"qwen3_5\", \"quantization\": " q "}"

CHECK_TEST(quant_global_only)
{
    bs_config c;
    boson_error e = {0};
    REQUIRE(parse(QCFG("{\"group_size\": 32, \"bits\": 3}"), NULL, &c, &e) == BOSON_OK);
    CHECK(c.has_quantization == 1);
    CHECK(c.quant_default.mode == BS_QMODE_AFFINE);
    CHECK_EQ_I64(c.quant_default.bits, 3);
    CHECK_EQ_I64(c.quant_default.group_size, 32);
    CHECK_EQ_I64(c.n_overrides, 0);
    bs_config_free(&c);
    REQUIRE(parse(QCFG("{\"group_size\": 16, \"bits\": 4, \"mode\": \"nvfp4\"}"), NULL, &c, &e) ==
            BOSON_OK);
    CHECK(c.quant_default.mode == BS_QMODE_NVFP4);
    bs_config_free(&c);
    REQUIRE(parse(QCFG("{\"mode\": \"mxfp8\"}"), NULL, &c, &e) == BOSON_OK);
    CHECK(c.quant_default.mode == BS_QMODE_MXFP8);
    CHECK_EQ_I64(c.quant_default.bits, 8);
    CHECK_EQ_I64(c.quant_default.group_size, 32);
    bs_config_free(&c);
    /* quantization_config alone is read */
    REQUIRE(parse("{\"model_type\": \"qwen3_5\", \"quantization_config\": {\"group_size\": 128, "
                  "\"bits\": 8}}",
                  NULL, &c, &e) == BOSON_OK);
    CHECK_EQ_I64(c.quant_default.group_size, 128);
    CHECK_EQ_I64(c.quant_default.bits, 8);
    bs_config_free(&c);
    /* both: "quantization" is the one used */
    REQUIRE(parse("{\"model_type\": \"qwen3_5\", \"quantization_config\": {\"group_size\": 128, "
                  "\"bits\": 8}, \"quantization\": {\"group_size\": 64, \"bits\": 2}}",
                  NULL, &c, &e) == BOSON_OK);
    CHECK_EQ_I64(c.quant_default.bits, 2);
    bs_config_free(&c);
    /* nested text_config.quantization_config (VLM-style) */
    REQUIRE(parse("{\"model_type\": \"qwen3_5\", \"text_config\": {\"quantization_config\": "
                  "{\"group_size\": 64, \"bits\": 5}}}",
                  NULL, &c, &e) == BOSON_OK);
    CHECK_EQ_I64(c.quant_default.bits, 5);
    bs_config_free(&c);
    EXPECT_ERR("{\"model_type\": \"qwen3_5\", \"quantization_config\": {\"quant_method\": "
               "\"fp8\", \"weight_block_size\": [128, 128]}}",
               NULL, BOSON_ERR_UNSUPPORTED, "quantization_config has quant_method 'fp8'");
    EXPECT_ERR(QCFG("[4]"), NULL, BOSON_ERR_CONFIG, "quantization must be an object (got array)");
}

CHECK_TEST(quant_override_forms)
{
    static const char cfg[] =
        QCFG("{\"group_size\": 32, \"bits\": 4, \"mode\": \"mxfp4\", \"quant_method\": \"mlx\","
             " \"language_model.model.layers.0.mlp.gate\": {\"group_size\": 64, \"bits\": 8},"
             " \"language_model.model.layers.0.linear_attn.out_proj\": false,"
             " \"model.layers.1.mlp.down_proj\": {\"group_size\": null, \"bits\": 6, \"mode\": "
             "\"affine\"},"
             " \"model.language_model.layers.2.mlp.up_proj\": {\"bits\": 2},"
             " \"model.layers.3.mlp.gate_proj\": {\"mode\": \"nvfp4\", \"group_size\": null},"
             " \"model.layers.4.mlp.gate_proj\": {},"
             " \"language_model.model.embed_tokens\": {\"group_size\": 32, \"bits\": 8},"
             " \"vision_tower.blocks.0.attn.qkv\": {\"bits\": 99},"
             " \"language_model.mtp.layers.0.mlp.gate\": false,"
             " \"model.layers.5.flag\": true}");
    bs_config c;
    boson_error e = {0};
    REQUIRE(parse(cfg, NULL, &c, &e) == BOSON_OK);
    REQUIRE(c.n_overrides == 7);
    const bs_qoverride *o = bs_config_find_override(&c, "model.layers.0.mlp.gate");
    REQUIRE(o);
    CHECK(o->spec.mode == BS_QMODE_AFFINE && o->spec.bits == 8 && o->spec.group_size == 64);
    o = bs_config_find_override(&c, "model.layers.0.linear_attn.out_proj");
    REQUIRE(o);
    CHECK(o->spec.mode == BS_QMODE_NONE);
    o = bs_config_find_override(&c, "model.layers.1.mlp.down_proj");
    REQUIRE(o);
    CHECK(o->spec.mode == BS_QMODE_AFFINE && o->spec.bits == 6 && o->spec.group_size == 64);
    o = bs_config_find_override(&c, "model.layers.2.mlp.up_proj");
    REQUIRE(o);
    CHECK_STR_EQ(o->raw_key, "model.language_model.layers.2.mlp.up_proj");
    CHECK(o->spec.mode == BS_QMODE_AFFINE && o->spec.bits == 2 && o->spec.group_size == 64);
    o = bs_config_find_override(&c, "model.layers.3.mlp.gate_proj");
    REQUIRE(o);
    CHECK(o->spec.mode == BS_QMODE_NVFP4 && o->spec.bits == 4 && o->spec.group_size == 16);
    o = bs_config_find_override(&c, "model.layers.4.mlp.gate_proj");
    REQUIRE(o); /* empty dict: affine with its defaults, not the global mxfp4 */
    CHECK(o->spec.mode == BS_QMODE_AFFINE && o->spec.bits == 4 && o->spec.group_size == 64);
    CHECK(bs_config_find_override(&c, "model.embed_tokens") != NULL);
    CHECK(bs_config_find_override(&c, "vision_tower.blocks.0.attn.qkv") == NULL);
    CHECK(bs_config_find_override(&c, "model.layers.5.flag") == NULL);
    /* file order is kept */
    CHECK_STR_EQ(c.overrides[0].module, "model.layers.0.mlp.gate");
    CHECK_STR_EQ(c.overrides[6].module, "model.embed_tokens");
    bs_config_free(&c);
}

CHECK_TEST(quant_duplicate_spellings)
{
    bs_config c;
    boson_error e = {0};
    /* two spellings, one module, same spec: one entry */
    REQUIRE(parse(QCFG("{\"group_size\": 64, \"bits\": 4,"
                       " \"language_model.model.layers.0.mlp.gate\": {\"group_size\": 64, "
                       "\"bits\": 8},"
                       " \"model.layers.1.mlp.gate\": false,"
                       " \"model.layers.0.mlp.gate\": {\"bits\": 8, \"mode\": \"affine\"},"
                       " \"model.language_model.layers.0.mlp.gate\": {\"bits\": 8},"
                       " \"lm_head\": false, \"language_model.lm_head\": false}"),
                  NULL, &c, &e) == BOSON_OK);
    REQUIRE(c.n_overrides == 3);
    CHECK_STR_EQ(c.overrides[0].raw_key, "language_model.model.layers.0.mlp.gate");
    CHECK_STR_EQ(c.overrides[1].module, "model.layers.1.mlp.gate");
    CHECK_STR_EQ(c.overrides[2].raw_key, "lm_head");
    bs_config_free(&c);
    /* same module, different formats */
    EXPECT_ERR(QCFG("{\"group_size\": 64, \"bits\": 4,"
                    " \"language_model.model.layers.0.mlp.gate\": {\"group_size\": 64, "
                    "\"bits\": 8},"
                    " \"model.layers.0.mlp.gate\": {\"group_size\": 64, \"bits\": 4}}"),
               NULL, BOSON_ERR_CONFIG,
               "quantization['language_model.model.layers.0.mlp.gate'] and "
               "quantization['model.layers.0.mlp.gate'] both name module "
               "model.layers.0.mlp.gate with different formats (affine 8-bit g64 vs affine "
               "4-bit g64)");
    EXPECT_ERR(QCFG("{\"lm_head\": false, \"language_model.lm_head\": {\"bits\": 8}}"), NULL,
               BOSON_ERR_CONFIG, "not quantized vs affine 8-bit g64");
}

CHECK_TEST(quant_invalid_specs)
{
    EXPECT_ERR(QCFG("{\"group_size\": 64, \"bits\": 4, \"model.layers.3.mlp.gate\": "
                    "{\"group_size\": 64, \"bits\": 7}}"),
               NULL, BOSON_ERR_CONFIG,
               "quantization['model.layers.3.mlp.gate']: bits 7 is not valid for affine (2, 3, "
               "4, 5, 6, 8)");
    EXPECT_ERR(QCFG("{\"group_size\": 48, \"bits\": 4}"), NULL, BOSON_ERR_CONFIG,
               "config.json: quantization: group_size 48 is not valid for affine (32, 64, 128)");
    EXPECT_ERR(QCFG("{\"group_size\": 64, \"bits\": 4, \"model.layers.0.mlp.up_proj\": "
                    "{\"group_size\": 32, \"bits\": 4, \"mode\": \"nvfp4\"}}"),
               NULL, BOSON_ERR_CONFIG,
               "quantization['model.layers.0.mlp.up_proj']: nvfp4 requires group_size 16 and "
               "bits 4 (got group_size 32, bits 4)");
    EXPECT_ERR(QCFG("{\"group_size\": 32, \"bits\": 8, \"mode\": \"mxfp4\"}"), NULL,
               BOSON_ERR_CONFIG, "quantization: mxfp4 requires group_size 32 and bits 4");
    EXPECT_ERR(QCFG("{\"group_size\": 64, \"bits\": 4, \"mode\": \"int4\"}"), NULL,
               BOSON_ERR_CONFIG,
               "quantization: mode 'int4' is unknown (affine, mxfp4, nvfp4, mxfp8)");
    EXPECT_ERR(QCFG("{\"bits\": \"4\"}"), NULL, BOSON_ERR_CONFIG,
               "quantization: bits must be an integer or null (got string)");
    EXPECT_ERR(QCFG("{\"model.layers.0.mlp.up_proj\": {\"mode\": 4}}"), NULL, BOSON_ERR_CONFIG,
               "quantization['model.layers.0.mlp.up_proj']: mode must be a string");
    EXPECT_ERR("{\"model_type\": \"qwen3_5\", \"quantization_config\": {\"bits\": 1}}", NULL,
               BOSON_ERR_CONFIG, "quantization_config: bits 1 is not valid for affine");
    EXPECT_ERR(QCFG("{\"bits\": 4294967300}"), NULL, BOSON_ERR_CONFIG,
               "bits 4294967300 is not valid");
}

CHECK_TEST(normalise_module_spellings)
{
    char buf[128];
    static const char *const cases[][2] = {
        {"language_model.model.layers.3.mlp.gate", "model.layers.3.mlp.gate"},
        {"model.language_model.layers.3.mlp.gate", "model.layers.3.mlp.gate"},
        {"language_model.lm_head", "lm_head"},
        {"language_model.model.embed_tokens", "model.embed_tokens"},
        {"model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.q_proj"},
        {"lm_head", "lm_head"},
        {"language_model.lm_headx", "language_model.lm_headx"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK(bs_config_normalise_module(cases[i][0], buf, sizeof buf) == 1);
        CHECK_STR_EQ(buf, cases[i][1]);
    }
    /* too small: "model.layers.3.mlp.gate" needs 24 bytes */
    CHECK(bs_config_normalise_module("language_model.model.layers.3.mlp.gate", buf, 23) == 0);
    CHECK(bs_config_normalise_module("language_model.model.layers.3.mlp.gate", buf, 24) == 1);
    CHECK(bs_config_normalise_module("x", buf, 0) == 0);
}

/* ---- token ids and generation_config.json --------------------------------------------------- */

CHECK_TEST(generation_config)
{
    static const char gen[] = "{\"bos_token_id\": 248044, \"do_sample\": true,"
                              " \"eos_token_id\": [248046, 248044, 248046],"
                              " \"pad_token_id\": 248044, \"temperature\": 0.6,"
                              " \"top_k\": 20, \"top_p\": 0.95, \"min_p\": 0.0,"
                              " \"repetition_penalty\": 1.05}";
    bs_config c;
    boson_error e = {0};
    char *cfg = sub(k_small, "{\"model_type\": \"qwen3_5\",",
                    "{\"model_type\": \"qwen3_5\", \"eos_token_id\": 1, \"bos_token_id\": 7,");
    REQUIRE(cfg && parse(cfg, gen, &c, &e) == BOSON_OK);
    CHECK_EQ_I64(c.n_eos, 2); /* replaced, duplicates dropped */
    CHECK_EQ_I64(c.eos_ids[0], 248046);
    CHECK_EQ_I64(c.eos_ids[1], 248044);
    CHECK_EQ_I64(c.bos_id, 7); /* config.json's own id wins */
    CHECK_EQ_I64(c.pad_id, 248044);
    CHECK_NEAR(c.gen_temperature, 0.6, 0);
    CHECK_NEAR(c.gen_top_p, 0.95, 0);
    CHECK_NEAR(c.gen_min_p, 0.0, 0);
    CHECK_NEAR(c.gen_repetition_penalty, 1.05, 0);
    CHECK_EQ_I64(c.gen_top_k, 20);
    bs_config_free(&c);
    /* generation_config without eos keeps config's */
    REQUIRE(parse(cfg, "{\"temperature\": 1}", &c, &e) == BOSON_OK);
    CHECK_EQ_I64(c.n_eos, 1);
    CHECK_EQ_I64(c.eos_ids[0], 1);
    CHECK(isnan(c.gen_top_p));
    CHECK_EQ_I64(c.gen_top_k, -1);
    bs_config_free(&c);
    /* an empty eos list in generation_config.json does not wipe config.json's */
    REQUIRE(parse(cfg, "{\"eos_token_id\": []}", &c, &e) == BOSON_OK);
    CHECK_EQ_I64(c.n_eos, 1);
    bs_config_free(&c);
    free(cfg);

    EXPECT_ERR("{\"model_type\": \"qwen3_5\"}", "{\"top_p\": 2}", BOSON_ERR_CONFIG,
               "generation_config.json: top_p = 2 is out of range");
    EXPECT_ERR("{\"model_type\": \"qwen3_5\"}", "{\"eos_token_id\": [1, \"x\"]}", BOSON_ERR_CONFIG,
               "generation_config.json: eos_token_id: entry 1 must be a token id");
    EXPECT_ERR("{\"model_type\": \"qwen3_5\"}", "{\"repetition_penalty\": 0}", BOSON_ERR_CONFIG,
               "repetition_penalty must be > 0");
    EXPECT_ERR("{\"model_type\": \"qwen3_5\", \"eos_token_id\": [1,2,3,4,5,6,7,8,9]}", NULL,
               BOSON_ERR_CONFIG, "eos_token_id: more than 8 distinct eos ids");
    EXPECT_ERR("{\"model_type\": \"qwen3_5\", \"eos_token_id\": -2}", NULL, BOSON_ERR_CONFIG,
               "eos_token_id: entry 0 must be a token id");
    EXPECT_ERR("{\"model_type\": \"qwen3_5\", \"eos_token_id\": \"</s>\"}", NULL, BOSON_ERR_CONFIG,
               "eos_token_id must be an integer or a list of integers");
}

/* ---- files ------------------------------------------------------------------------------- */

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    size_t n = strlen(text);
    int ok = fwrite(text, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

CHECK_TEST(load_from_directory)
{
    char dir[] = "/tmp/boson_test_config_XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    char cfg[128], gen[128];
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    snprintf(gen, sizeof gen, "%s/generation_config.json", dir);
    bs_config c;
    boson_error e = {0};

    CHECK(bs_config_load(dir, &c, &e) == BOSON_ERR_IO);
    CHECK_CONTAINS(e.message, "no config.json in /tmp/boson_test_config_");

    REQUIRE(write_file(cfg, k_qwen3_next));
    REQUIRE(bs_config_load(dir, &c, &e) == BOSON_OK);
    CHECK(c.arch == BS_ARCH_QWEN3_NEXT);
    CHECK_EQ_I64(c.n_eos, 1);
    bs_config_free(&c);

    REQUIRE(write_file(gen, "{\"eos_token_id\": [151645, 151643], \"top_k\": 20}"));
    REQUIRE(bs_config_load(dir, &c, &e) == BOSON_OK);
    CHECK_EQ_I64(c.n_eos, 2);
    CHECK_EQ_I64(c.eos_ids[1], 151643);
    CHECK_EQ_I64(c.gen_top_k, 20);
    bs_config_free(&c);

    /* errors name the file */
    REQUIRE(write_file(cfg, "{\"model_type\": \"qwen3_5\", \"num_hidden_layers\": 0}"));
    CHECK(bs_config_load(dir, &c, &e) == BOSON_ERR_CONFIG);
    CHECK_CONTAINS(e.message, "/config.json: num_hidden_layers = 0 is out of range");

    unlink(cfg);
    unlink(gen);
    rmdir(dir);
}

CHECK_TEST(free_is_safe)
{
    bs_config c;
    memset(&c, 0, sizeof c);
    bs_config_free(&c);
    bs_config_free(&c);
    boson_error e = {0};
    REQUIRE(parse(k_qwen35_27b, NULL, &c, &e) == BOSON_OK);
    bs_config_free(&c);
    bs_config_free(&c);
    CHECK(c.layer_is_moe == NULL);
    bs_config_free(NULL);
}

int main(void)
{
    return check_main("test_config",
                      (const check_case[]){CHECK_CASE(qwen35_27b_nested),
                                           CHECK_CASE(qwen35_moe_mxfp4_routers_stay_affine),
                                           CHECK_CASE(qwen3_next_flat),
                                           CHECK_CASE(qwen3_next_moe_schedule),
                                           CHECK_CASE(qwen3_next_required_fields),
                                           CHECK_CASE(qwen35_defaults_like_mlx_lm),
                                           CHECK_CASE(text_only_model_types),
                                           CHECK_CASE(qwen35_with_experts_is_moe),
                                           CHECK_CASE(model_type_errors),
                                           CHECK_CASE(json_level_errors),
                                           CHECK_CASE(rope_sources),
                                           CHECK_CASE(layer_types_agreement),
                                           CHECK_CASE(lying_sizes),
                                           CHECK_CASE(tie_word_embeddings_levels),
                                           CHECK_CASE(separate_gdn_projections),
                                           CHECK_CASE(quant_global_only),
                                           CHECK_CASE(quant_override_forms),
                                           CHECK_CASE(quant_duplicate_spellings),
                                           CHECK_CASE(quant_invalid_specs),
                                           CHECK_CASE(normalise_module_spellings),
                                           CHECK_CASE(generation_config),
                                           CHECK_CASE(load_from_directory),
                                           CHECK_CASE(free_is_safe),
                                           {0}});
}
