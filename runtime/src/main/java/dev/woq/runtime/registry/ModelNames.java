package dev.woq.runtime.registry;

import java.nio.file.Path;

/** The name a model gets in the registry: its directory's name, or the repository name of a Hugging Face snapshot. */
public final class ModelNames {
    private ModelNames() {}

    /**
     * {@code ~/models/Meta-Llama-3-8B-Instruct} gives {@code Meta-Llama-3-8B-Instruct};
     * {@code .../models--meta-llama--Meta-Llama-3-8B-Instruct/snapshots/<rev>} gives the same.
     */
    public static String of(Path sourceDir) {
        Path p = sourceDir.toAbsolutePath().normalize();
        int n = p.getNameCount();
        // .../models--org--name/snapshots/<rev>
        if (n >= 3 && p.getName(n - 2).toString().equals("snapshots")) {
            String repo = p.getName(n - 3).toString();
            if (repo.startsWith("models--")) {
                String rest = repo.substring("models--".length());
                int cut = rest.lastIndexOf("--");
                return sanitize(cut >= 0 ? rest.substring(cut + 2) : rest);
            }
        }
        Path name = p.getFileName();
        return sanitize(name == null ? "model" : name.toString());
    }

    /**
     * Only {@code [A-Za-z0-9._-]}, other characters becoming {@code _}, and never a leading dot (hidden
     * names are the registry's own temporary and lock files).
     */
    public static String sanitize(String name) {
        StringBuilder sb = new StringBuilder(name.length());
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            boolean ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                    || c == '.' || c == '_' || c == '-';
            sb.append(ok ? c : '_');
        }
        int start = 0;
        while (start < sb.length() && sb.charAt(start) == '.') {
            start++;
        }
        String s = sb.substring(start);
        return s.isEmpty() ? "model" : s;
    }
}
