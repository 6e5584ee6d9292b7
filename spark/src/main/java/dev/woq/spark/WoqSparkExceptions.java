package dev.woq.spark;

/** Finds woq's own error inside the exception a failed Spark job throws. */
public final class WoqSparkExceptions {
    private WoqSparkExceptions() {}

    /** The first {@link WoqSparkException} among {@code e} and its causes, or null. */
    public static WoqSparkException find(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof WoqSparkException w) {
                return w;
            }
        }
        return null;
    }
}
