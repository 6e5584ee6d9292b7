package dev.woq.rag;

import dev.woq.runtime.WoqException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.SegmentInfos;
import org.apache.lucene.index.StoredFields;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.store.LockObtainFailedException;

/**
 * A folder of documents made searchable: one Lucene index with a document per passage (its file,
 * page, character offsets, text for BM25 and MiniLM vector for HNSW) and one per file (its content
 * hash). Each file is committed on its own, so a run that is killed leaves every file committed
 * before intact, and a second run skips unchanged files. The commit metadata records the embedding
 * model and chunk settings; opening with another model is refused.
 *
 * <pre>{@code
 * try (Embedder minilm = MiniLmEmbedder.load(4);
 *      DocumentIndex index = DocumentIndex.openForUpdate(dir, minilm, ChunkSettings.DEFAULT)) {
 *     index.add(List.of(Path.of("report.pdf")), IndexListener.NONE);
 *     List<Hit> hits = index.search("minimum guarantee", SearchMode.HYBRID, 4);
 * }
 * }</pre>
 */
public final class DocumentIndex implements AutoCloseable {
    /** Reciprocal rank fusion's constant (Cormack et al. 2009). */
    static final int RRF_K = 60;
    /** Candidates each ranking contributes to the fusion. */
    private static final int FUSION_DEPTH = 50;
    private static final int EMBED_BATCH = 32;

    private final Path dir;
    private final Directory directory;
    private final Embedder embedder;
    private final ChunkSettings settings;
    private final IndexWriter writer; // null when read-only
    private final Analyzer analyzer = new EnglishAnalyzer();
    private DirectoryReader reader;

    private DocumentIndex(Path dir, Directory directory, Embedder embedder, ChunkSettings settings, IndexWriter writer) {
        this.dir = dir;
        this.directory = directory;
        this.embedder = embedder;
        this.settings = settings;
        this.writer = writer;
    }

    /**
     * Opens the index in {@code dir} to search it.
     *
     * @throws EmptyIndexException when there is no index there
     * @throws IndexMismatchException when it was built with another embedding model
     */
    public static DocumentIndex open(Path dir, Embedder embedder) {
        Directory directory = fsDirectory(dir);
        try {
            if (!DirectoryReader.indexExists(directory)) {
                directory.close();
                throw new EmptyIndexException("No index at " + dir + ": build one first with"
                        + " 'woq index --index " + dir + " FILE...'");
            }
            ChunkSettings stored = checkMetadata(dir, directory, embedder, null);
            return new DocumentIndex(dir, directory, embedder, stored, null);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Opens (or creates) the index in {@code dir} to add and remove files.
     *
     * @param settings how to cut passages; {@code null} keeps the index's own (or the default for a new one)
     * @throws IndexMismatchException when the index was built with another model or other chunk settings
     */
    public static DocumentIndex openForUpdate(Path dir, Embedder embedder, ChunkSettings settings) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new WoqException("Cannot create the index directory " + dir + ": " + e.getMessage());
        }
        Directory directory = fsDirectory(dir);
        try {
            ChunkSettings effective = settings != null ? settings : ChunkSettings.DEFAULT;
            if (DirectoryReader.indexExists(directory)) {
                effective = checkMetadata(dir, directory, embedder, settings);
            }
            IndexWriterConfig config = new IndexWriterConfig(new EnglishAnalyzer());
            config.setOpenMode(IndexWriterConfig.OpenMode.CREATE_OR_APPEND);
            IndexWriter writer;
            try {
                writer = new IndexWriter(directory, config);
            } catch (LockObtainFailedException e) {
                directory.close();
                throw new WoqException("The index at " + dir + " is being written by another process"
                        + " (its write.lock is held): wait for that 'woq index' to finish");
            }
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put(IndexFields.META_FORMAT, IndexFields.FORMAT);
            meta.put(IndexFields.META_MODEL, embedder.modelId());
            meta.put(IndexFields.META_DIMENSIONS, Integer.toString(embedder.dimensions()));
            meta.put(IndexFields.META_CHUNKING, effective.id());
            writer.setLiveCommitData(meta.entrySet());
            return new DocumentIndex(dir, directory, embedder, effective, writer);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Directory fsDirectory(Path dir) {
        try {
            return FSDirectory.open(dir);
        } catch (IOException e) {
            throw new WoqException("Cannot open the index directory " + dir + ": " + e.getMessage());
        }
    }

    /** Reads the last commit's metadata and checks it against the model and the settings asked for. */
    private static ChunkSettings checkMetadata(Path dir, Directory directory, Embedder embedder, ChunkSettings asked)
            throws IOException {
        Map<String, String> meta = SegmentInfos.readLatestCommit(directory).getUserData();
        String model = meta.get(IndexFields.META_MODEL);
        String chunking = meta.get(IndexFields.META_CHUNKING);
        if (model == null || chunking == null) {
            throw new IndexMismatchException("The Lucene index at " + dir + " was not written by 'woq index'"
                    + " (no embedding model in its metadata): give another --index directory");
        }
        if (!model.equals(embedder.modelId())) {
            throw new IndexMismatchException("The index at " + dir + " holds vectors of embedding model '" + model
                    + "', but this woq embeds with '" + embedder.modelId() + "': the two cannot be compared."
                    + " Index the documents again into a new --index directory");
        }
        ChunkSettings stored = ChunkSettings.parse(chunking);
        if (asked != null && !asked.equals(stored)) {
            throw new IndexMismatchException("The index at " + dir + " cuts passages as " + stored.describe()
                    + ", not " + asked.describe() + " as asked: leave out --chunk-tokens/--overlap to keep the"
                    + " index's settings, or index into a new --index directory");
        }
        return stored;
    }

    public Path dir() {
        return dir;
    }

    /** How this index cuts passages. */
    public ChunkSettings settings() {
        return settings;
    }

    public Embedder embedder() {
        return embedder;
    }

    /**
     * Indexes the files that {@code paths} name (directories recursively): new files are added,
     * changed ones replaced, unchanged ones (same SHA-256) left alone, unreadable ones reported
     * and skipped. Each file is committed before the next is read.
     */
    public IndexReport add(List<Path> paths, IndexListener listener) {
        requireWriter();
        long start = System.nanoTime();
        DocumentFiles.Found found = DocumentFiles.expand(paths);
        List<FileOutcome> outcomes = new ArrayList<>();
        for (FileOutcome skipped : found.skipped()) {
            outcomes.add(skipped);
            listener.fileDone(skipped);
        }
        Map<Path, String> indexed = indexedHashes();
        DocumentReader documents = new DocumentReader();
        Chunker chunker = Chunker.of(settings, embedder);
        for (Path file : found.files()) {
            FileOutcome outcome = addFile(file, indexed.get(file), documents, chunker, listener);
            outcomes.add(outcome);
            listener.fileDone(outcome);
        }
        return new IndexReport(outcomes, (System.nanoTime() - start) / 1e9);
    }

    private FileOutcome addFile(Path file, String indexedHash, DocumentReader documents, Chunker chunker,
            IndexListener listener) {
        SourceDocument doc;
        try {
            if (indexedHash != null && indexedHash.equals(DocumentReader.sha256(Files.readAllBytes(file)))) {
                return new FileOutcome(file, FileOutcome.Status.UNCHANGED, 0, 0, null);
            }
            doc = documents.read(file);
        } catch (UnreadableDocumentException e) {
            return new FileOutcome(file, FileOutcome.Status.SKIPPED, 0, 0, e.reason());
        } catch (IOException e) {
            return new FileOutcome(file, FileOutcome.Status.SKIPPED, 0, 0, "cannot be read: " + e.getMessage());
        }
        listener.pagesRead(doc.pages().size() + doc.pagesWithoutText().size());
        List<Document> docs = passages(doc, chunker, listener);
        Document fileDoc = new Document();
        fileDoc.add(new StringField(IndexFields.KIND, IndexFields.KIND_FILE, Field.Store.YES));
        fileDoc.add(new StringField(IndexFields.PATH, file.toString(), Field.Store.YES));
        fileDoc.add(new StoredField(IndexFields.SHA256, doc.sha256()));
        fileDoc.add(new StoredField(IndexFields.PAGES, doc.pages().size() + doc.pagesWithoutText().size()));
        fileDoc.add(new StoredField(IndexFields.CHUNKS, docs.size()));
        docs.add(fileDoc);
        try {
            // Deletes the file's old passages and adds the new ones in one atomic step, then
            // commits: a kill after this line keeps the file, before it keeps the old version.
            writer.updateDocuments(new Term(IndexFields.PATH, file.toString()), docs);
            writer.commit();
        } catch (IOException e) {
            throw new UncheckedIOException("Writing the index at " + dir + " failed", e);
        }
        String note = doc.pagesWithoutText().isEmpty() ? null
                : "no text on pages " + PageRanges.format(doc.pagesWithoutText()) + "; OCR is not supported";
        FileOutcome.Status status = indexedHash == null ? FileOutcome.Status.ADDED : FileOutcome.Status.REPLACED;
        return new FileOutcome(file, status, doc.pages().size() + doc.pagesWithoutText().size(), docs.size() - 1, note);
    }

    /** The passage documents of {@code doc}, embedded in batches. */
    private List<Document> passages(SourceDocument doc, Chunker chunker, IndexListener listener) {
        List<Document> docs = new ArrayList<>();
        List<String> texts = new ArrayList<>();
        for (Page page : doc.pages()) {
            for (Span span : chunker.split(page.text())) {
                String text = span.text(page.text());
                Document d = new Document();
                d.add(new StringField(IndexFields.KIND, IndexFields.KIND_CHUNK, Field.Store.NO));
                d.add(new StringField(IndexFields.PATH, doc.file().toString(), Field.Store.YES));
                d.add(new StoredField(IndexFields.PAGE, page.number()));
                d.add(new StoredField(IndexFields.START, span.start()));
                d.add(new StoredField(IndexFields.END, span.end()));
                d.add(new TextField(IndexFields.TEXT, text, Field.Store.YES));
                docs.add(d);
                texts.add(text);
            }
        }
        // Batches of similar length: a batch is padded to its longest text, so sorting saves work.
        Integer[] order = new Integer[texts.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, java.util.Comparator.comparingInt(i -> texts.get(i).length()));
        for (int from = 0; from < order.length; from += EMBED_BATCH) {
            int to = Math.min(order.length, from + EMBED_BATCH);
            List<String> batch = new ArrayList<>();
            for (int j = from; j < to; j++) {
                batch.add(texts.get(order[j]));
            }
            float[][] vectors = embedder.embed(batch);
            for (int j = from; j < to; j++) {
                docs.get(order[j]).add(new KnnFloatVectorField(IndexFields.VECTOR, vectors[j - from],
                        VectorSimilarityFunction.DOT_PRODUCT));
            }
            listener.chunksEmbedded(to - from);
        }
        return docs;
    }

    /**
     * Removes the files whose path no longer exists on disk, each with its own commit.
     *
     * @return one {@link FileOutcome.Status#PRUNED} outcome per removed file
     */
    public List<FileOutcome> prune() {
        requireWriter();
        List<FileOutcome> pruned = new ArrayList<>();
        for (Path file : indexedHashes().keySet()) {
            if (!Files.exists(file)) {
                try {
                    writer.deleteDocuments(new Term(IndexFields.PATH, file.toString()));
                    writer.commit();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                pruned.add(new FileOutcome(file, FileOutcome.Status.PRUNED, 0, 0, null));
            }
        }
        return pruned;
    }

    /** The indexed files and their content hashes. */
    public Map<Path, String> indexedHashes() {
        Map<Path, String> files = new LinkedHashMap<>();
        try {
            DirectoryReader r = reader();
            if (r == null) {
                return files;
            }
            IndexSearcher searcher = new IndexSearcher(r);
            TopDocs top = searcher.search(new TermQuery(new Term(IndexFields.KIND, IndexFields.KIND_FILE)),
                    Math.max(1, r.maxDoc()));
            StoredFields stored = searcher.storedFields();
            for (ScoreDoc sd : top.scoreDocs) {
                Document d = stored.document(sd.doc);
                files.put(Path.of(d.get(IndexFields.PATH)), d.get(IndexFields.SHA256));
            }
            return files;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Passages in the index. */
    public int passageCount() {
        try {
            DirectoryReader r = acquire();
            try {
                return passages(r);
            } finally {
                release(r);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The {@code topK} passages that best match {@code query}.
     *
     * @throws EmptyIndexException when the index holds no passages
     */
    public List<Hit> search(String query, SearchMode mode, int topK) {
        if (topK < 1) {
            throw new dev.woq.runtime.ConfigException("top-k must be at least 1, got " + topK);
        }
        if (query.isBlank()) {
            throw new WoqException("The query is empty: give some words to search for");
        }
        DirectoryReader r = null;
        try {
            r = acquire();
            if (passages(r) == 0) {
                throw new EmptyIndexException("The index at " + dir + " holds no passages: add documents with"
                        + " 'woq index --index " + dir + " FILE...'");
            }
            IndexSearcher searcher = new IndexSearcher(r);
            List<Ranked> ranked = switch (mode) {
                case BM25 -> bm25(searcher, query, topK);
                case VECTOR -> vector(searcher, query, topK);
                case HYBRID -> fuse(bm25(searcher, query, Math.max(topK, FUSION_DEPTH)),
                        vector(searcher, query, Math.max(topK, FUSION_DEPTH)), topK);
            };
            StoredFields stored = searcher.storedFields();
            List<Hit> hits = new ArrayList<>();
            for (Ranked rd : ranked) {
                Document d = stored.document(rd.doc());
                hits.add(new Hit(hits.size() + 1, rd.score(), Path.of(d.get(IndexFields.PATH)),
                        d.getField(IndexFields.PAGE).numericValue().intValue(),
                        d.getField(IndexFields.START).numericValue().intValue(),
                        d.getField(IndexFields.END).numericValue().intValue(), d.get(IndexFields.TEXT)));
            }
            return hits;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            release(r);
        }
    }

    private static int passages(DirectoryReader r) throws IOException {
        return r == null ? 0 : new IndexSearcher(r).count(new TermQuery(new Term(IndexFields.KIND, IndexFields.KIND_CHUNK)));
    }

    /**
     * The newest reader, with a reference held for the caller ({@link #release}): searches run on
     * many threads at once (woq serve), and refreshing the reader must not close it under one.
     */
    private synchronized DirectoryReader acquire() throws IOException {
        DirectoryReader r = reader();
        if (r != null) {
            r.incRef();
        }
        return r;
    }

    private static void release(DirectoryReader r) {
        if (r != null) {
            try {
                r.decRef();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** A Lucene document id with its score in one ranking. */
    private record Ranked(int doc, double score) {}

    private List<Ranked> bm25(IndexSearcher searcher, String query, int n) throws IOException {
        BooleanQuery.Builder q = new BooleanQuery.Builder();
        int terms = 0;
        // Each analyzed word is a SHOULD clause: no query syntax to trip over, any word may match.
        try (TokenStream ts = analyzer.tokenStream(IndexFields.TEXT, query)) {
            CharTermAttribute term = ts.addAttribute(CharTermAttribute.class);
            ts.reset();
            while (ts.incrementToken() && terms < IndexSearcher.getMaxClauseCount()) {
                q.add(new TermQuery(new Term(IndexFields.TEXT, term.toString())), BooleanClause.Occur.SHOULD);
                terms++;
            }
            ts.end();
        }
        if (terms == 0) {
            return List.of(); // only stop words
        }
        return ranked(searcher.search(q.build(), n), false);
    }

    private List<Ranked> vector(IndexSearcher searcher, String query, int n) throws IOException {
        float[] v = embedder.embed(List.of(query))[0];
        Query q = new KnnFloatVectorQuery(IndexFields.VECTOR, v, n);
        return ranked(searcher.search(q, n), true);
    }

    private static List<Ranked> ranked(TopDocs top, boolean cosine) {
        List<Ranked> out = new ArrayList<>();
        for (ScoreDoc sd : top.scoreDocs) {
            // Lucene scores unit vectors' dot product as (1 + cos) / 2: report the cosine.
            out.add(new Ranked(sd.doc, cosine ? 2.0 * sd.score - 1 : sd.score));
        }
        return out;
    }

    /** Reciprocal rank fusion: each ranking adds 1 / (60 + rank) to a passage's score. */
    static List<Ranked> fuse(List<Ranked> a, List<Ranked> b, int topK) {
        Map<Integer, Double> scores = new HashMap<>();
        for (List<Ranked> ranking : List.of(a, b)) {
            for (int i = 0; i < ranking.size(); i++) {
                scores.merge(ranking.get(i).doc(), 1.0 / (RRF_K + i + 1), Double::sum);
            }
        }
        return scores.entrySet().stream()
                .sorted(Map.Entry.<Integer, Double>comparingByValue().reversed()
                        .thenComparing(Map.Entry.comparingByKey()))
                .limit(topK)
                .map(e -> new Ranked(e.getKey(), e.getValue()))
                .toList();
    }

    private synchronized DirectoryReader reader() throws IOException {
        if (reader == null) {
            if (writer != null) {
                reader = DirectoryReader.open(writer);
            } else {
                reader = DirectoryReader.open(directory);
            }
        } else {
            DirectoryReader fresh = writer != null
                    ? DirectoryReader.openIfChanged(reader, writer) : DirectoryReader.openIfChanged(reader);
            if (fresh != null) {
                reader.close();
                reader = fresh;
            }
        }
        return reader;
    }

    private void requireWriter() {
        if (writer == null) {
            throw new IllegalStateException("This index was opened to search: use openForUpdate to change it");
        }
    }

    @Override
    public synchronized void close() {
        try {
            if (reader != null) {
                reader.close();
            }
            if (writer != null) {
                writer.close();
            }
            directory.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            analyzer.close();
        }
    }
}
