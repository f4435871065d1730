import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Prints the content of each file given as argument (default local/resource.txt), framed by BEGIN and END
 * markers. An argument {@code stat:<file>} prints instead, for that file as the task user sees it, one line
 * {@code STAT <file> uid=<n> gid=<n> mode=<octal> readable=<bool> writable=<bool>}.
 */
public final class Main {
    private static final String STAT = "stat:";

    private Main() {
    }

    public static void main(String[] given) throws IOException {
        String[] args = Inputs.of(given);
        for (String arg : args.length > 0 ? args : new String[] {"local/resource.txt"}) {
            if (arg.startsWith(STAT)) {
                stat(Paths.get(arg.substring(STAT.length())));
            } else {
                Path file = Paths.get(arg);
                System.out.println("BEGIN " + file);
                System.out.print(Files.readString(file));
                System.out.println("END " + file);
            }
        }
    }

    private static void stat(Path file) throws IOException {
        System.out.println("STAT " + file
                + " uid=" + Files.getAttribute(file, "unix:uid", LinkOption.NOFOLLOW_LINKS)
                + " gid=" + Files.getAttribute(file, "unix:gid", LinkOption.NOFOLLOW_LINKS)
                + " mode=" + Integer.toOctalString((Integer) Files.getAttribute(file, "unix:mode") & 07777)
                + " readable=" + Files.isReadable(file)
                + " writable=" + Files.isWritable(file));
    }
}
