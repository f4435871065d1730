import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Fails its first N runs (first argument, default 2), counting runs in a file under the shared alloc dir
 * (NOMAD_ALLOC_DIR), so restarts of the same allocation see the count; then succeeds.
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] given) throws IOException {
        String[] args = Inputs.of(given);
        int failures = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        String allocDir = System.getenv().getOrDefault("NOMAD_ALLOC_DIR", "/tmp");
        Path counter = Paths.get(allocDir, "flaky-runs");
        int run = Files.exists(counter) ? Integer.parseInt(Files.readString(counter).trim()) + 1 : 1;
        Files.writeString(counter, Integer.toString(run), StandardCharsets.UTF_8);
        if (run <= failures) {
            System.out.println("flaky run " + run + ": failing on purpose");
            System.exit(1);
        }
        System.out.println("flaky run " + run + ": succeeded");
    }
}
