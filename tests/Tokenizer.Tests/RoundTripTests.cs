using System.Text;
using LlmMesh.Tokenization;

namespace LlmMesh.Tokenizer.Tests;

public sealed class RoundTripTests(CocoVocabularyFixture coco) : IClassFixture<CocoVocabularyFixture>
{
    public static TheoryData<string> HardTexts => new()
    {
        "",
        "a man riding a bicycle down the street.",
        "naïve café, 😀",
        "👨‍👩‍👧‍👦 family: 👩🏽‍🚀 🏳️‍🌈 ❤️‍🔥",
        "日本語のテキストと中文文本, 한국어",
        "e\u0301 n\u0303 a\u030A\u0332 Z\u0351\u0352\u0357",
        "שלום עולם — مرحبا بالعالم ‏RTL‏ mark",
        "ctrl\0\u0001\u0007\t\r\n\u001B[31m end\u007F\u0085",
        "<pad><bos><eos><unk> are only text here",
        "  double  spaces   and trailing   ",
        "\uFEFF bom \u00A0nbsp \u2028 line sep \u3000 ideographic space",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙 and 🀄 and \U0010FFFD private plane 16",
        "replacement \uFFFD char stays",
        "'s 'll 're I'm it's",
    };

    [Theory]
    [MemberData(nameof(HardTexts))]
    public void Hard_texts_round_trip_exactly(string text)
    {
        var ids = coco.Tokenizer.Encode(text).ToArray();

        Assert.Equal(text, coco.Tokenizer.Decode(ids));
        Assert.DoesNotContain(ids, SpecialTokens.IsSpecial);
    }

    [Fact]
    public void Ten_thousand_random_unicode_strings_round_trip_exactly()
    {
        var random = new Random(20261128);
        for (var i = 0; i < 10_000; i++)
        {
            var text = TestData.RandomUnicode(random);
            var ids = coco.Tokenizer.Encode(text).ToArray();
            var decoded = coco.Tokenizer.Decode(ids);
            if (decoded != text)
            {
                Assert.Fail($"string {i} did not round-trip: {Escape(text)} -> {Escape(decoded)}");
            }
        }
    }

    [Fact]
    public void Decode_matches_Microsoft_ML_Tokenizers_on_encoded_text()
    {
        var bpe = Microsoft.ML.Tokenizers.BpeTokenizer.Create(new Microsoft.ML.Tokenizers.BpeOptions(
            coco.Vocabulary.Tokens.Select((token, id) => new KeyValuePair<string, int>(token, id)))
        {
            Merges = BpeVocabulary.ReadMergeLines(Encoding.UTF8.GetString(coco.Vocabulary.MergesText)),
            ByteLevel = true,
            PreTokenizer = new Microsoft.ML.Tokenizers.RegexPreTokenizer(PreTokenization.Regex(), null),
        });
        var random = new Random(5);
        for (var i = 0; i < 500; i++)
        {
            var text = TestData.RandomUnicode(random);
            var ids = coco.Tokenizer.Encode(text).ToArray();
            Assert.Equal(bpe.Decode(ids), coco.Tokenizer.Decode(ids));
        }
    }

    [Fact]
    public void Special_ids_decode_to_nothing()
    {
        var ids = new[] { SpecialTokens.BosId }.Concat(coco.Tokenizer.Encode("a dog")).Append(SpecialTokens.EosId).Append(SpecialTokens.PadId);
        Assert.Equal("a dog", coco.Tokenizer.Decode(ids.ToArray()));
    }

    [Fact]
    public void Index_of_invalid_id_finds_the_first_id_outside_the_vocabulary()
    {
        Assert.Equal(-1, coco.Tokenizer.IndexOfInvalidId([0, 5, 2047]));
        Assert.Equal(1, coco.Tokenizer.IndexOfInvalidId([0, 2048, -1]));
        Assert.Equal(0, coco.Tokenizer.IndexOfInvalidId([-1]));
    }

    private static string Escape(string text) =>
        string.Concat(text.EnumerateRunes().Select(r => r.Value is >= 0x20 and < 0x7F ? r.ToString() : $"\\u{{{r.Value:X}}}"));
}
