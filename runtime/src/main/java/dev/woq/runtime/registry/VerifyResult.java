package dev.woq.runtime.registry;

/**
 * What {@link ModelRegistry#verify} found.
 *
 * @param ok true when every file has its recorded size and every hash matches
 * @param file the first file that does not match, or null
 * @param tensor the first tensor whose data does not match, or null (a whole-file or header problem)
 * @param message one line saying what was wrong and what to do, or a summary when ok
 * @param tensorsChecked tensors hashed
 * @param bytesChecked bytes hashed
 */
public record VerifyResult(boolean ok, String file, String tensor, String message, long tensorsChecked, long bytesChecked) {
    static VerifyResult passed(long tensors, long bytes) {
        return new VerifyResult(true, null, null, "OK: " + tensors + " tensors, " + bytes + " bytes hashed", tensors, bytes);
    }

    static VerifyResult failed(String file, String tensor, String message, long tensors, long bytes) {
        return new VerifyResult(false, file, tensor, message, tensors, bytes);
    }
}
