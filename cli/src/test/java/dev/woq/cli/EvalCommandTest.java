package dev.woq.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code woq eval} end to end on the tiny preset with the real tokenizer: windows and figures are
 * consistent across runs and dtypes. The figures themselves are checked against an independent
 * fp32 forward in the runtime's {@code TextEvaluatorMatchesReferenceTest}.
 */
class EvalCommandTest {
    static final int CONTEXT = 32;

    @TempDir
    static Path tmp;

    static Path tiny;
    static Path text;

    @BeforeAll
    static void writeModelAndText() throws IOException {
        tiny = Cli.synthTiny(tmp.resolve("tiny"));
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 12; i++) {
            s.append("Paragraph ").append(i).append(": the quantized model reads the same words as the reference,")
                    .append(" and the figures say how far apart their predictions are.\n");
        }
        text = Files.writeString(tmp.resolve("text.txt"), s.toString());
    }

    @Test
    void int4AgainstBf16ReportsDivergenceOnTheSameWindowsAsBf16Alone() {
        Path home = tmp.resolve("home-a");
        JsonObject int4 = eval(home, "--dtype", "int4", "--reference", "bf16");
        JsonObject bf16 = eval(home);
        long chunks = int4.get("chunks").getAsLong();
        assertTrue(chunks >= 2, int4::toString);
        assertEquals(chunks * (CONTEXT - 1 - CONTEXT / 2), int4.get("tokens").getAsLong());
        assertEquals("int4-q32", int4.get("dtype").getAsString());
        assertEquals("bf16", int4.get("reference_dtype").getAsString());
        // The reference's perplexity is bf16's own, on identical tokens and windows.
        assertEquals(bf16.get("perplexity").getAsDouble(), int4.get("reference_perplexity").getAsDouble(), 1e-9);
        double kl = int4.get("kl_mean").getAsDouble();
        assertTrue(kl > 0 && kl < 1, int4::toString);
        assertTrue(int4.get("kl_p99").getAsDouble() >= int4.get("kl_median").getAsDouble(), int4::toString);
        double top1 = int4.get("top1_agreement").getAsDouble();
        assertTrue(top1 > 0.5 && top1 <= 1, int4::toString);
        assertTrue(int4.get("logits_cosine").getAsDouble() > 0.8, int4::toString);
    }

    @Test
    void weightSqnrOfMseSearchBeatsRoundToNearest() {
        Path home = tmp.resolve("home-d");
        JsonObject mse = eval(home, "--dtype", "int4", "--weight-sqnr");
        JsonObject rtn = eval(home, "--dtype", "int4", "--int4-search", "none", "--weight-sqnr");
        assertEquals("int4-q32-rtn", rtn.get("dtype").getAsString());
        double a = mse.get("weight_sqnr_db").getAsDouble();
        double b = rtn.get("weight_sqnr_db").getAsDouble();
        assertTrue(a > b && b > 15, "mse " + a + " dB, rtn " + b + " dB");
    }

    @Test
    void bf16AgainstItselfAgreesEverywhere() {
        JsonObject r = eval(tmp.resolve("home-b"), "--reference", "bf16");
        assertEquals(0, r.get("kl_mean").getAsDouble(), 1e-9);
        assertEquals(1.0, r.get("top1_agreement").getAsDouble());
        assertEquals(r.get("perplexity").getAsDouble(), r.get("reference_perplexity").getAsDouble(), 1e-12);
    }

    @Test
    void textShorterThanAWindowIsAUserError() throws IOException {
        Path shortText = Files.writeString(tmp.resolve("short.txt"), "Too short.");
        Cli.Result r = Cli.run("eval", "--model", tiny.toString(), "--text", shortText.toString(),
                "--context", Integer.toString(CONTEXT));
        assertEquals(1, r.exitCode(), r::describe);
        assertTrue(r.err().contains("fewer than one window of " + CONTEXT), r::describe);
    }

    @Test
    void humanReadableOutputNamesEveryFigure() {
        Cli.Result r = Cli.run("eval", "--model", tiny.toString(), "--text", text.toString(), "--context",
                Integer.toString(CONTEXT), "--dtype", "int8", "--reference", "bf16", "--woq-home",
                tmp.resolve("home-c").toString());
        assertEquals(0, r.exitCode(), r::describe);
        for (String figure : new String[] {"perplexity", "KL mean", "KL 99th percentile", "top-1 agreement",
                "logits cosine"}) {
            assertTrue(r.out().contains(figure), r::describe);
        }
    }

    private static JsonObject eval(Path home, String... extra) {
        String[] base = {"eval", "--model", tiny.toString(), "--text", text.toString(), "--context",
                Integer.toString(CONTEXT), "--json", "--woq-home", home.toString()};
        String[] args = new String[base.length + extra.length];
        System.arraycopy(base, 0, args, 0, base.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        return Cli.run(args).json();
    }
}
