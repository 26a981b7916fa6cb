"""Payment providers behind one interface (base.PaymentProvider): a card processor in test mode
(test_card) and Stripe Checkout (stripe_checkout). payments.py picks the firm's."""
