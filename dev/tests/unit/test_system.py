from devstack.system import service_class, service_names


def test_services_are_the_folders_with_a_nameko_config():
    names = service_names()
    assert "billing" in names and "gateway" not in names
    assert service_class("billing") == "billing.service:BillingService"
