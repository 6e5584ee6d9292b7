package dev.woq.cli;

import picocli.CommandLine.IVersionProvider;

/** {@code woq --version}: woq's version and the pinned engine versions. */
final class Version implements IVersionProvider {
    @Override
    public String[] getVersion() {
        String v = Main.class.getPackage().getImplementationVersion();
        return new String[] {
            "woq " + (v == null ? "0.1.0-SNAPSHOT" : v),
            "DJL 0.35.1, PyTorch 2.7.1 (CPU), Java " + System.getProperty("java.version")
        };
    }
}
