import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.UUID;

/**
 * Meets another task of its allocation in the shared alloc dir ({@code NOMAD_ALLOC_DIR}): leaves a
 * file there named after a fresh id of its own, then waits up to 30 s for a file some other task
 * left and prints its content, {@code read from another task: <its id>}. Exits 1 when none comes.
 * Two tasks of one group running it each find the other's file only if they share the directory.
 */
public final class Main {
    private static final String SUFFIX = ".peer";
    private static final long WAIT_NANOS = 30_000_000_000L;
    private static final long POLL_MILLIS = 100L;

    private Main() {
    }

    public static void main(String[] args) throws IOException, InterruptedException {
        String dir = System.getenv("NOMAD_ALLOC_DIR");
        if (dir == null) {
            System.out.println("NOMAD_ALLOC_DIR is not set");
            System.exit(2);
        }
        Path shared = Paths.get(dir);
        String id = UUID.randomUUID().toString();
        Path mine = shared.resolve(id + SUFFIX);
        // Written aside, then renamed: another task never reads a file that is only half there.
        Path draft = Files.writeString(shared.resolve(id + ".draft"), id);
        Files.move(draft, mine, StandardCopyOption.ATOMIC_MOVE);
        System.out.println("left " + mine);
        long end = System.nanoTime() + WAIT_NANOS;
        while (System.nanoTime() < end) {
            try (DirectoryStream<Path> peers = Files.newDirectoryStream(shared, "*" + SUFFIX)) {
                for (Path peer : peers) {
                    if (!peer.equals(mine)) {
                        System.out.println("read from another task: " + Files.readString(peer));
                        return;
                    }
                }
            }
            Thread.sleep(POLL_MILLIS);
        }
        System.out.println("no other task left a file in " + shared + " within 30 s");
        System.exit(1);
    }
}
