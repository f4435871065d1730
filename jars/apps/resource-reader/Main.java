import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/** Prints the content of the file given as first argument (default local/resource.txt), framed by markers. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) throws IOException {
        Path file = Paths.get(args.length > 0 ? args[0] : "local/resource.txt");
        System.out.println("BEGIN " + file);
        System.out.print(Files.readString(file));
        System.out.println("END " + file);
    }
}
