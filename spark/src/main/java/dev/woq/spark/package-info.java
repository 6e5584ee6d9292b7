/**
 * Batch generation over Spark Datasets. {@link dev.woq.spark.WoqSpark#generate} adds a completion
 * (and its counts, finish reason, error and time) to every row. Each executor JVM loads the model
 * once ({@link dev.woq.spark.SharedModels}) and its concurrent tasks feed one
 * {@link dev.woq.runtime.generate.ContinuousBatcher}, so the rows of all its partitions are decoded
 * together. A row that cannot be generated gets an {@code error} value; the job goes on.
 */
package dev.woq.spark;
