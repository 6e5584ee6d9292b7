/**
 * Questions over your documents: {@link dev.woq.rag.DocumentReader} reads PDFs (text per page),
 * {@code .txt} and {@code .md}; a {@link dev.woq.rag.Chunker} splits pages into passages that
 * fit the embedding model; {@link dev.woq.rag.MiniLmEmbedder} embeds them in process;
 * {@link dev.woq.rag.DocumentIndex} keeps them in one on-disk Lucene index (BM25 text and HNSW
 * vectors side by side) and searches it; {@link dev.woq.rag.DocumentQa} answers a question from
 * the passages it retrieves, with page citations, through the runtime's generator.
 */
package dev.woq.rag;
