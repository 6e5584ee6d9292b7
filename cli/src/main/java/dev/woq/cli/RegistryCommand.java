package dev.woq.cli;

import dev.woq.runtime.ConfigException;
import dev.woq.runtime.registry.Entry;
import dev.woq.runtime.registry.Manifest;
import dev.woq.runtime.registry.ModelRegistry;
import dev.woq.runtime.registry.VerifyResult;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code woq registry}: the quantized models {@code woq quantize} built. */
@Command(
        name = "registry",
        mixinStandardHelpOptions = true,
        description = {
            "List, show, verify or remove quantized models in the woq registry.",
            "Entries live in <woq-home>/registry/<model>/<recipe>/ and are named MODEL/RECIPE, e.g."
                    + " Meta-Llama-3-8B-Instruct/int4-q32."
        },
        subcommands = {
            RegistryCommand.ListCommand.class,
            RegistryCommand.ShowCommand.class,
            RegistryCommand.RemoveCommand.class,
            RegistryCommand.VerifyCommand.class
        },
        footerHeading = "%nExamples:%n",
        footer = {
            "  woq registry list",
            "  woq registry show Meta-Llama-3-8B-Instruct",
            "  woq registry verify Meta-Llama-3-8B-Instruct/int4-q32",
            "  woq registry rm Meta-Llama-3-8B-Instruct/int8 --woq-home ~/woq-home"
        })
final class RegistryCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        throw new CommandLine.ParameterException(spec.commandLine(),
                "Missing subcommand: list, show, rm or verify (woq registry --help explains them)");
    }

    /** {@code MODEL/RECIPE}, or {@code MODEL} alone where {@code allowModelOnly}. */
    record Key(String model, String recipe) {
        static Key parse(String text, boolean allowModelOnly) {
            int slash = text.indexOf('/');
            if (slash < 0 && allowModelOnly && !text.isBlank()) {
                return new Key(text, null);
            }
            if (slash <= 0 || slash == text.length() - 1 || text.indexOf('/', slash + 1) >= 0) {
                throw new ConfigException("'" + text + "' is not a registry entry: expected MODEL/RECIPE as `woq registry"
                        + " list` shows them, e.g. Meta-Llama-3-8B-Instruct/int4-q32.");
            }
            return new Key(text.substring(0, slash), text.substring(slash + 1));
        }

        Entry find(ModelRegistry registry) {
            Optional<Entry> e = registry.find(model, recipe);
            return e.orElseThrow(() -> new ConfigException("No registry entry " + model + "/" + recipe + " in "
                    + registry.root() + ". `woq registry list` shows the entries there; `woq quantize` creates them."));
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "List the complete entries: model, recipe, size and creation time.",
            footerHeading = "%nExamples:%n",
            footer = {"  woq registry list", "  woq registry list --woq-home ~/woq-home"})
    static final class ListCommand implements Callable<Integer> {
        @Mixin
        WoqHome home;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            ModelRegistry registry = home.registry();
            List<Entry> entries = registry.list();
            if (entries.isEmpty()) {
                PrintWriter err = spec.commandLine().getErr();
                err.println("woq: no entries in " + registry.root() + " (woq quantize creates them)");
                err.flush();
                return 0;
            }
            int modelWidth = Math.max(5, entries.stream().mapToInt(e -> e.model().length()).max().orElse(0));
            int recipeWidth = Math.max(6, entries.stream().mapToInt(e -> e.recipeName().length()).max().orElse(0));
            String format = "%-" + modelWidth + "s  %-" + recipeWidth + "s  %10s  %s%n";
            out.printf(Locale.ROOT, format, "MODEL", "RECIPE", "SIZE", "CREATED");
            for (Entry e : entries) {
                out.printf(Locale.ROOT, format, e.model(), e.recipeName(), QuantizeCommand.gb(e.totalBytes()),
                        e.manifest().created());
            }
            out.flush();
            return 0;
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true,
            description = "Show an entry's manifest: source, recipe, versions, files and tensors.",
            footerHeading = "%nExamples:%n",
            footer = {"  woq registry show Meta-Llama-3-8B-Instruct",
                "  woq registry show Meta-Llama-3-8B-Instruct/int4-q32"})
    static final class ShowCommand implements Callable<Integer> {
        @Parameters(paramLabel = "MODEL[/RECIPE]", description = "An entry, or every entry of a model.")
        String name;

        @Mixin
        WoqHome home;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            ModelRegistry registry = home.registry();
            Key key = Key.parse(name, true);
            List<Entry> entries = key.recipe() != null
                    ? List.of(key.find(registry))
                    : registry.list().stream().filter(e -> e.model().equals(key.model())).toList();
            if (entries.isEmpty()) {
                throw new ConfigException("No registry entries for model " + key.model() + " in " + registry.root()
                        + ". `woq registry list` shows the entries there.");
            }
            boolean first = true;
            for (Entry e : entries) {
                if (!first) {
                    out.println();
                }
                first = false;
                Manifest m = e.manifest();
                out.printf(Locale.ROOT, "%s/%s%n", e.model(), e.recipeName());
                out.printf(Locale.ROOT, "  directory:  %s%n", e.dir());
                out.printf(Locale.ROOT, "  recipe:     %s%n", m.recipe());
                out.printf(Locale.ROOT, "  source:     %s%n", m.sourcePath());
                out.printf(Locale.ROOT, "  fingerprint: %s%n", m.sourceFingerprint());
                out.printf(Locale.ROOT, "  created:    %s (quantizing took %.1f s)%n", m.created(), m.quantizeSeconds());
                out.printf(Locale.ROOT, "  versions:   woq %s, DJL %s, PyTorch %s%n", m.versions().get("woq"),
                        m.versions().get("djl"), m.versions().get("pytorch"));
                out.printf(Locale.ROOT, "  size:       %s in %d files, %d tensors%n", QuantizeCommand.gb(e.totalBytes()),
                        m.files().size(), m.tensors().size());
                for (Manifest.FileInfo f : m.files()) {
                    out.printf(Locale.ROOT, "    %-40s %,15d bytes%n", f.name(), f.bytes());
                }
            }
            out.flush();
            return 0;
        }
    }

    @Command(name = "rm", mixinStandardHelpOptions = true,
            description = "Delete an entry (woq quantize builds it again when asked).",
            footerHeading = "%nExamples:%n",
            footer = {"  woq registry rm Meta-Llama-3-8B-Instruct/int8"})
    static final class RemoveCommand implements Callable<Integer> {
        @Parameters(paramLabel = "MODEL/RECIPE", description = "The entry, as `woq registry list` shows it.")
        String name;

        @Mixin
        WoqHome home;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            ModelRegistry registry = home.registry();
            Key key = Key.parse(name, false);
            Path dir = registry.root().resolve(key.model()).resolve(key.recipe());
            registry.remove(key.model(), key.recipe());
            PrintWriter out = spec.commandLine().getOut();
            out.println("removed " + dir);
            out.flush();
            return 0;
        }
    }

    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = "Re-hash every tensor and file of an entry against its manifest; exit 1 at the first"
                    + " mismatch, naming the file and tensor.",
            footerHeading = "%nExamples:%n",
            footer = {"  woq registry verify Meta-Llama-3-8B-Instruct/int4-q32"})
    static final class VerifyCommand implements Callable<Integer> {
        @Parameters(paramLabel = "MODEL/RECIPE", description = "The entry, as `woq registry list` shows it.")
        String name;

        @Mixin
        WoqHome home;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            ModelRegistry registry = home.registry();
            Entry entry = Key.parse(name, false).find(registry);
            VerifyResult result = registry.verify(entry);
            if (result.ok()) {
                PrintWriter out = spec.commandLine().getOut();
                out.printf(Locale.ROOT, "%s/%s: OK (%d tensors, %s hashed)%n", entry.model(), entry.recipeName(),
                        result.tensorsChecked(), QuantizeCommand.gb(result.bytesChecked()));
                out.flush();
                return 0;
            }
            PrintWriter err = spec.commandLine().getErr();
            err.println("woq: " + entry.model() + "/" + entry.recipeName() + " failed verification: " + result.message());
            err.flush();
            return Main.EXIT_USER_ERROR;
        }
    }
}
