package dev.woq.server;

import io.javalin.http.Context;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.BufferUtil;

/**
 * Whether the client of a request that is not streamed is still there. A streamed reply finds a
 * closed connection at its next write; a whole reply writes nothing until generation ends, so
 * without this a client that gave up would keep its slot in the batch (and its KV cache) to the
 * last token. Jetty does not watch a connection while its request is being handled, so this asks
 * the socket: a non-blocking read that returns end-of-stream means the client closed it.
 *
 * <p>A client that sends more bytes meanwhile (HTTP/1.1 pipelining, which OpenAI's clients do not
 * use) would have them read here: the reply then closes the connection ({@code Connection:
 * close}), so those bytes are never taken for the start of another request.
 */
final class ClientConnection {
    private final Context ctx;
    private final EndPoint endPoint; // null: not on Jetty's HTTP/1 connector; treated as present
    private boolean closeAfterReply;

    ClientConnection(Context ctx) {
        this.ctx = ctx;
        Request base = Request.getBaseRequest(ctx.req());
        this.endPoint = base == null || base.getHttpChannel() == null ? null : base.getHttpChannel().getEndPoint();
    }

    /** True once the client has closed its side or the connection failed. */
    boolean gone() {
        if (endPoint == null) {
            return false;
        }
        if (!endPoint.isOpen() || endPoint.isInputShutdown()) {
            return true;
        }
        ByteBuffer probe = BufferUtil.allocate(64);
        try {
            int n = endPoint.fill(probe);
            if (n > 0 && !closeAfterReply) {
                closeAfterReply = true;
                ctx.header("Connection", "close");
            }
            return n < 0;
        } catch (IOException e) {
            return true;
        }
    }
}
