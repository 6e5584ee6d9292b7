package dev.woq.rag;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A child process for {@link KilledIndexRunTest}: indexes files into an index, printing
 * {@code committed NAME} after each file, and pausing once the second file's passages are embedded
 * (before its commit) so the test can kill it exactly there.
 */
public final class KillableIndexRun {
    private KillableIndexRun() {}

    public static void main(String[] args) throws InterruptedException {
        Path index = Path.of(args[0]);
        List<Path> files = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            files.add(Path.of(args[i]));
        }
        try (MiniLmEmbedder minilm = MiniLmEmbedder.load(1);
                DocumentIndex idx = DocumentIndex.openForUpdate(index, minilm, null)) {
            int[] done = {0};
            idx.add(files, new IndexListener() {
                @Override
                public void chunksEmbedded(int chunks) {
                    if (done[0] == 1) {
                        System.out.println("embedding second file");
                        System.out.flush();
                        try {
                            Thread.sleep(120_000);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                }

                @Override
                public void fileDone(FileOutcome outcome) {
                    done[0]++;
                    System.out.println("committed " + outcome.file().getFileName());
                    System.out.flush();
                }
            });
        }
    }
}
