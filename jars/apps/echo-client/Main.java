import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * The other end of echo-server: connects to ECHO_ADDR (host:port, e.g. rendered from Nomad service
 * discovery), sends args[0] and prints the answer. Exits 0 on the expected answer, 1 otherwise, 2 when
 * ECHO_ADDR is missing. Tries to connect for up to args[1] seconds (default 10).
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) throws InterruptedException {
        String target = System.getenv("ECHO_ADDR");
        String message = args.length > 0 ? args[0] : "hello";
        long seconds = args.length > 1 ? Long.parseLong(args[1]) : 10;
        if (target == null || target.isBlank() || !target.contains(":")) {
            System.err.println("echo-client: ECHO_ADDR is not host:port but '" + target + "'");
            System.exit(2);
        }
        String host = target.substring(0, target.lastIndexOf(':')).trim();
        int port = Integer.parseInt(target.substring(target.lastIndexOf(':') + 1).trim());
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        while (true) {
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress(host, port), 2000);
                socket.setSoTimeout(5000);
                System.out.println("echo-client connected from " + socket.getLocalAddress().getHostAddress()
                        + " to " + host + ":" + port);
                PrintWriter out = new PrintWriter(socket.getOutputStream(), true, StandardCharsets.UTF_8);
                BufferedReader in = new BufferedReader(
                        new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
                out.println(message);
                System.out.println("echo-client sent '" + message + "'");
                String answer = in.readLine();
                System.out.println("echo-client received '" + answer + "'");
                System.exit(("echo: " + message).equals(answer) ? 0 : 1);
            } catch (IOException e) {
                if (System.nanoTime() > end) {
                    System.out.println("echo-client gave up on " + host + ":" + port + ": " + e);
                    System.exit(1);
                }
                System.out.println("echo-client retrying " + host + ":" + port + ": " + e);
                Thread.sleep(500);
            }
        }
    }
}
