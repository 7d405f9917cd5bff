// Uses the public API only: builds options for a local endpoint and checks
// that a part size S3 would refuse is reported as a typed error before any
// network activity. Exit 0 on the expected behaviour.
#include <hoist/engine/upload.hpp>

#include <iostream>

int main() {
    hoist::sigv4::credentials creds;
    creds.access_key_id = "AKIDCONSUMER";
    creds.secret_access_key = hoist::sigv4::secret_string("consumer-secret");
    hoist::engine::upload_options opts;
    opts.location = hoist::protocol::locate(hoist::protocol::parse_endpoint("https://127.0.0.1:9"), "bucket", "key",
                                            hoist::protocol::addressing::automatic);
    opts.region = "us-east-1";
    opts.signer = std::make_shared<hoist::sigv4::signer>(creds);
    opts.part_size = 512 * 1000;  // the product's original chunks: below S3's 5 MiB minimum
    try {
        hoist::engine::upload_file("/dev/null", opts);
    } catch (const hoist::engine::upload_error& e) {
        if (e.code() == hoist::engine::upload_errc::invalid_argument) {
            std::cout << "consumer: refused as expected: " << e.what() << "\n";
            return 0;
        }
        std::cerr << "consumer: wrong error: " << e.what() << "\n";
        return 1;
    }
    std::cerr << "consumer: a 512 KB part size was accepted\n";
    return 1;
}
