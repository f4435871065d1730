import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;

/**
 * Reports, one {@code file=value} line each, the cgroup limit files the container sees of its own cgroup
 * under /sys/fs/cgroup: cgroup v1 (memory/, cpu/) or v2 (the unified root), whichever is mounted. Also
 * reports the CPU count and maximum heap the JVM derived from them.
 */
public final class Main {
    private static final List<String> FILES = List.of(
            "memory/memory.limit_in_bytes", "cpu/cpu.shares", "cpu/cpu.cfs_quota_us", "cpu/cpu.cfs_period_us",
            "memory.max", "cpu.max", "cpu.weight");

    private Main() {
    }

    public static void main(String[] args) throws IOException {
        Path root = Paths.get("/sys/fs/cgroup");
        for (String name : FILES) {
            Path file = root.resolve(name);
            if (Files.isReadable(file)) {
                System.out.println(name + "=" + Files.readString(file).trim());
            }
        }
        System.out.println("jvm.availableProcessors=" + Runtime.getRuntime().availableProcessors());
        System.out.println("jvm.maxMemory=" + Runtime.getRuntime().maxMemory());
    }
}
