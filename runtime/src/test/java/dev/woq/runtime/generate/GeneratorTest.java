package dev.woq.runtime.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.woq.runtime.WoqException;
import dev.woq.runtime.engine.TorchRuntime;
import dev.woq.runtime.model.InferenceSession;
import dev.woq.runtime.model.LlamaModel;
import dev.woq.runtime.model.TestCheckpoints;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Prefill, decode and stopping on the tiny synthetic checkpoint. */
class GeneratorTest {
    static final int[] PROMPT = {128000, 2028, 374, 264, 1296, 11914, 13, 578, 4062, 14198};
    private static LlamaModel model;
    private static Generator generator;

    @BeforeAll
    static void load() {
        model = LlamaModel.load(TorchRuntime.start(2), TestCheckpoints.tiny());
        generator = new Generator(model);
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
    }

    private static GenerationResult greedy(int maxNewTokens) {
        return generator.generate(PROMPT, GenerationConfig.greedy(maxNewTokens, Set.of()), TokenListener.NONE);
    }

    private static GenerationConfig sampling(long seed, int maxNewTokens) {
        return new GenerationConfig(maxNewTokens, 0.8, 0, 0.9, 1.0, seed, Set.of());
    }

    @Test
    void greedyGenerationIsDeterministic() {
        GenerationResult a = greedy(12);
        GenerationResult b = greedy(12);
        assertEquals(12, a.generatedIds().length);
        assertArrayEquals(a.generatedIds(), b.generatedIds());
        assertArrayEquals(a.firstLogits(), b.firstLogits());
        assertArrayEquals(PROMPT, a.promptIds());
    }

    @Test
    void firstGreedyTokenIsTheArgmaxOfTheFirstLogits() {
        GenerationResult r = greedy(3);
        assertEquals(model.config().vocabSize(), r.firstLogits().length);
        assertEquals(Sampler.argmax(r.firstLogits()), r.generatedIds()[0]);
    }

    @Test
    void greedyGenerationFeedsEachTokenBackAndPicksTheArgmax() {
        // The same loop by hand: prefill, then decode the argmax of each step's logits.
        int steps = 10;
        int[] expected = new int[steps];
        float[] firstLogits;
        try (InferenceSession s = model.newSession(PROMPT.length + steps)) {
            float[] logits = s.prefill(PROMPT);
            firstLogits = logits.clone();
            for (int i = 0; i < steps; i++) {
                expected[i] = Sampler.argmax(logits);
                if (i + 1 < steps) {
                    logits = s.decode(expected[i]);
                }
            }
        }
        GenerationResult r = greedy(steps);
        assertArrayEquals(expected, r.generatedIds());
        assertArrayEquals(firstLogits, r.firstLogits());
        assertEquals(StopReason.MAX_NEW_TOKENS, r.stopReason());
    }

    @Test
    void sameSeedGivesSameTokens() {
        GenerationResult a = generator.generate(PROMPT, sampling(42, 12), TokenListener.NONE);
        GenerationResult b = generator.generate(PROMPT, sampling(42, 12), TokenListener.NONE);
        assertArrayEquals(a.generatedIds(), b.generatedIds());
    }

    @Test
    void differentSeedsGiveDifferentTokens() {
        List<int[]> runs = new ArrayList<>();
        for (long seed : new long[] {1, 2, 3}) {
            runs.add(generator.generate(PROMPT, sampling(seed, 12), TokenListener.NONE).generatedIds());
        }
        assertFalse(Arrays.equals(runs.get(0), runs.get(1)) && Arrays.equals(runs.get(1), runs.get(2)),
                "three seeds gave the same 12 tokens: " + Arrays.toString(runs.get(0)));
    }

    @Test
    void samplingDiffersFromGreedy() {
        // Temperature 0.8 with top-p 0.9 over a random model's flat distribution rarely follows the argmax.
        int[] greedy = greedy(12).generatedIds();
        int[] sampled = generator.generate(PROMPT, sampling(7, 12), TokenListener.NONE).generatedIds();
        assertFalse(Arrays.equals(greedy, sampled), "sampling gave the greedy tokens " + Arrays.toString(greedy));
    }

    @Test
    void listenerReceivesExactlyTheGeneratedTokensInOrder() {
        List<Integer> heard = new ArrayList<>();
        GenerationResult r = generator.generate(PROMPT, sampling(5, 9), heard::add);
        assertEquals(IntStream.of(r.generatedIds()).boxed().toList(), heard);
        assertEquals(9, heard.size());
    }

    @Test
    void generationStopsAtAStopToken() {
        int[] free = greedy(8).generatedIds();
        // The first token from the third on that has not appeared before: generation must stop there.
        int at = firstNewTokenFrom(free, 2);
        int stop = free[at];
        List<Integer> heard = new ArrayList<>();
        GenerationResult r = generator.generate(PROMPT, GenerationConfig.greedy(8, Set.of(stop)), heard::add);
        assertArrayEquals(Arrays.copyOf(free, at + 1), r.generatedIds());
        assertEquals(stop, r.generatedIds()[r.generatedIds().length - 1]);
        assertEquals(StopReason.STOP_TOKEN, r.stopReason());
        assertEquals(IntStream.of(r.generatedIds()).boxed().toList(), heard, "the stop token is heard, last");
    }

    @Test
    void theModelsEosIdsStopGenerationWithoutBeingAsked() {
        int[] free = greedy(8).generatedIds();
        int at = firstNewTokenFrom(free, 2);
        // The same weights under a config.json whose eos_token_id is that token.
        try (LlamaModel other = LlamaModel.load(
                TorchRuntime.start(2), TestCheckpoints.tinyWith(8192, List.of(128009, free[at])))) {
            GenerationResult r = new Generator(other)
                    .generate(PROMPT, GenerationConfig.greedy(8, Set.of()), TokenListener.NONE);
            assertArrayEquals(Arrays.copyOf(free, at + 1), r.generatedIds());
            assertEquals(StopReason.STOP_TOKEN, r.stopReason());
        }
    }

    private static int firstNewTokenFrom(int[] ids, int from) {
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < ids.length; i++) {
            if (i >= from && !seen.contains(ids[i])) {
                return i;
            }
            seen.add(ids[i]);
        }
        throw new AssertionError("no new token after position " + from + " in " + Arrays.toString(ids));
    }

    @Test
    void maxNewTokensIsHonoured() {
        for (int max : new int[] {1, 5}) {
            GenerationResult r = greedy(max);
            assertEquals(max, r.generatedIds().length);
            assertEquals(StopReason.MAX_NEW_TOKENS, r.stopReason());
        }
        GenerationResult sampled = generator.generate(PROMPT, sampling(3, 7), TokenListener.NONE);
        assertEquals(7, sampled.generatedIds().length);
        assertEquals(StopReason.MAX_NEW_TOKENS, sampled.stopReason());
    }

    @Test
    void generationStopsWhenTheContextIsFull() {
        // 12 positions, 10 in the prompt: tokens 1 and 2 are decoded at positions 10 and 11, and the
        // logits of position 11 still give a third token, which nothing is left to decode.
        try (LlamaModel small = LlamaModel.load(TorchRuntime.start(2), TestCheckpoints.tinyWithContext(12))) {
            Generator g = new Generator(small);
            GenerationResult r = g.generate(PROMPT, GenerationConfig.greedy(50, Set.of()), TokenListener.NONE);
            assertEquals(StopReason.CONTEXT_FULL, r.stopReason());
            assertEquals(3, r.generatedIds().length, Arrays.toString(r.generatedIds()));
            // The same weights: the tokens are the unlimited model's first three.
            assertArrayEquals(Arrays.copyOf(greedy(8).generatedIds(), 3), r.generatedIds());
            try (InferenceSession s = small.newSession(12)) {
                GenerationResult again = g.continueSession(
                        s, PROMPT, GenerationConfig.greedy(50, Set.of()), TokenListener.NONE);
                assertArrayEquals(r.generatedIds(), again.generatedIds());
                assertEquals(StopReason.CONTEXT_FULL, again.stopReason());
                assertEquals(12, s.position(), "every position of the context holds a token");
            }
        }
    }

    @Test
    void maxNewTokensReachedTogetherWithAFullContextReportsMaxNewTokens() {
        try (LlamaModel small = LlamaModel.load(TorchRuntime.start(2), TestCheckpoints.tinyWithContext(12))) {
            GenerationResult r = new Generator(small)
                    .generate(PROMPT, GenerationConfig.greedy(3, Set.of()), TokenListener.NONE);
            assertEquals(3, r.generatedIds().length);
            assertEquals(StopReason.MAX_NEW_TOKENS, r.stopReason());
        }
    }

    @Test
    void promptThatFillsTheContextIsRefusedWithBothCounts() {
        try (LlamaModel small = LlamaModel.load(TorchRuntime.start(2), TestCheckpoints.tinyWithContext(12))) {
            Generator g = new Generator(small);
            int[] thirteen = Arrays.copyOf(PROMPT, 13);
            WoqException e = assertThrows(WoqException.class,
                    () -> g.generate(thirteen, GenerationConfig.greedy(4, Set.of()), TokenListener.NONE));
            assertTrue(e.getMessage().contains("13") && e.getMessage().contains("12"), e.getMessage());
            int[] twelve = Arrays.copyOf(PROMPT, 12);
            WoqException full = assertThrows(WoqException.class,
                    () -> g.generate(twelve, GenerationConfig.greedy(4, Set.of()), TokenListener.NONE));
            assertTrue(full.getMessage().contains("12"), full.getMessage());
            // Eleven tokens leave one position: the first token is decoded there, its logits give a second.
            GenerationResult r = g.generate(Arrays.copyOf(PROMPT, 11), GenerationConfig.greedy(4, Set.of()),
                    TokenListener.NONE);
            assertEquals(2, r.generatedIds().length);
            assertEquals(StopReason.CONTEXT_FULL, r.stopReason());
        }
    }

    @Test
    void emptyPromptIsRefused() {
        WoqException e = assertThrows(WoqException.class,
                () -> generator.generate(new int[0], GenerationConfig.greedy(4, Set.of()), TokenListener.NONE));
        assertTrue(e.getMessage().contains("empty"), e.getMessage());
    }

    @Test
    void idsOutsideTheVocabularyAreRefused() {
        int vocab = model.config().vocabSize();
        for (int bad : new int[] {-1, vocab, vocab + 1000, Integer.MAX_VALUE}) {
            int[] prompt = {128000, 2028, bad, 264};
            WoqException e = assertThrows(WoqException.class,
                    () -> generator.generate(prompt, GenerationConfig.greedy(4, Set.of()), TokenListener.NONE));
            assertTrue(e.getMessage().contains(Integer.toString(bad)), e.getMessage());
        }
        try (InferenceSession s = model.newSession(32)) {
            assertThrows(WoqException.class, () -> generator.continueSession(
                    s, new int[] {5, vocab}, GenerationConfig.greedy(4, Set.of()), TokenListener.NONE));
            assertEquals(0, s.position(), "a refused turn leaves the session as it was");
        }
        // The last id of the vocabulary is fine.
        GenerationResult r = generator.generate(
                new int[] {128000, vocab - 1}, GenerationConfig.greedy(2, Set.of()), TokenListener.NONE);
        assertEquals(2, r.generatedIds().length);
    }

    @Test
    void repetitionPenaltyAppliesToPromptAndGeneratedTokensAtEveryStep() {
        // Below 1 the penalty favours seen tokens: a strong one makes greedy repeat the prompt.
        int steps = 6;
        double penalty = 0.01;
        int[] expected = new int[steps];
        try (InferenceSession s = model.newSession(PROMPT.length + steps)) {
            RepetitionPenalty seen = new RepetitionPenalty(penalty);
            IntStream.of(PROMPT).forEach(seen::observe);
            float[] logits = s.prefill(PROMPT);
            for (int i = 0; i < steps; i++) {
                seen.apply(logits);
                expected[i] = Sampler.argmax(logits);
                seen.observe(expected[i]);
                if (i + 1 < steps) {
                    logits = s.decode(expected[i]);
                }
            }
        }
        GenerationConfig config = new GenerationConfig(steps, 0, 0, 1, penalty, 0, Set.of());
        int[] ids = generator.generate(PROMPT, config, TokenListener.NONE).generatedIds();
        assertArrayEquals(expected, ids);
        Set<Integer> prompt = new HashSet<>(IntStream.of(PROMPT).boxed().toList());
        assertTrue(prompt.contains(ids[0]), "the favoured first token " + ids[0] + " is not from the prompt");
        assertFalse(Arrays.equals(greedy(steps).generatedIds(), ids), "the penalty changed nothing");
    }

    @Test
    void strongRepetitionPenaltyKeepsGreedyAwayFromSeenTokens() {
        int n = 20;
        GenerationConfig penalized = new GenerationConfig(n, 0, 0, 1, 1000.0, 0, Set.of());
        int[] ids = generator.generate(PROMPT, penalized, TokenListener.NONE).generatedIds();
        assertEquals(n, IntStream.of(ids).distinct().count(), "a token repeated: " + Arrays.toString(ids));
        Set<Integer> prompt = new HashSet<>(IntStream.of(PROMPT).boxed().toList());
        assertTrue(IntStream.of(ids).noneMatch(prompt::contains), "a prompt token was generated");
    }

    @Test
    void continuingASessionAppendsTheTurnAfterTheCachedTokens() {
        // The prompt in two parts, the second through continueSession, gives the whole prompt's tokens.
        GenerationResult whole = greedy(4);
        try (InferenceSession s = model.newSession(64)) {
            // A single generated token is chosen from the turn's logits and not decoded.
            generator.continueSession(s, Arrays.copyOf(PROMPT, 4), GenerationConfig.greedy(1, Set.of()), TokenListener.NONE);
            assertEquals(4, s.position());
            s.reset();
            s.prefill(Arrays.copyOf(PROMPT, 4));
            GenerationResult second = generator.continueSession(
                    s, Arrays.copyOfRange(PROMPT, 4, PROMPT.length), GenerationConfig.greedy(4, Set.of()),
                    TokenListener.NONE);
            assertArrayEquals(whole.generatedIds(), second.generatedIds());
            // The last generated token is returned but not decoded: the next turn starts with it.
            assertEquals(PROMPT.length + 3, s.position());
        }
    }
}
