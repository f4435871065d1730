import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;

/** Reports, one {@code key=value} line each, what the JVM can see and do from where it runs. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) throws IOException {
        report("pid", ProcessHandle.current().pid());
        report("visible-processes", ProcessHandle.allProcesses().count());
        report("hostname", InetAddress.getLocalHost().getHostName());
        report("user", System.getProperty("user.name"));
        for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
            String[] field = line.split(":\\s*", 2);
            if (List.of("Uid", "Gid", "CapEff", "CapBnd", "NoNewPrivs", "Seccomp").contains(field[0])) {
                report(field[0].toLowerCase(), field[1].trim().replaceAll("\\s+", " "));
            }
        }
        for (String line : Files.readAllLines(Paths.get("/proc/self/cgroup"))) {
            if (line.contains(":memory:") || line.startsWith("0::")) {
                report("cgroup", line);
            }
        }
        report("root-writable", writable(Paths.get("/")));
        report("tmp-writable", writable(Paths.get("/tmp")));
        report("local-writable", writable(Paths.get("/local")));
        report("alloc-writable", writable(Paths.get("/alloc")));
        report("java-home", System.getProperty("java.home"));
    }

    private static void report(String key, Object value) {
        System.out.println(key + "=" + value);
    }

    private static boolean writable(Path dir) {
        try {
            Path probe = Files.createTempFile(dir, "probe", ".tmp");
            Files.delete(probe);
            return true;
        } catch (IOException | SecurityException e) {
            return false;
        }
    }
}
