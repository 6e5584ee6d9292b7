/** Small process-level helpers (resident memory, native heap trimming, file trees). Depends on nothing in woq. */
package dev.woq.runtime.util;
