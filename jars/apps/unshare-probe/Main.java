import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;

/**
 * Runs {@code unshare --user /bin/true}, a namespace change a seccomp profile may deny, in a child
 * of the JVM (which inherits the JVM's seccomp filter), and exits with its exit code.
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) throws IOException, InterruptedException {
        Process child = new ProcessBuilder("/usr/bin/unshare", "--user", "/bin/true")
                .redirectOutput(Redirect.INHERIT)
                .redirectError(Redirect.INHERIT)
                .start();
        int code = child.waitFor();
        System.out.println("unshare exited " + code);
        System.exit(code);
    }
}
