"""geo-disputes: where disputes happen in Zhungeer Banner, and who must resolve them."""
