"""Wire-compatible surfaces of upstream APIs, so existing clients work by changing a base URL."""
